"""openWakeWord frontend: 16 kHz int16 PCM in, 96-dim speech embeddings out.

The frontend is two ONNX models shipped with openWakeWord:

* ``melspectrogram.onnx``: float32 ``(batch, samples)`` holding int16-valued audio ->
  ``(batch, 1, samples // 160 - 3, 32)`` log-mel frames (one per 10 ms), to which openWakeWord
  applies ``spec / 10 + 2``;
* ``embedding_model.onnx``: ``(batch, 76, 32, 1)`` mel windows -> ``(batch, 1, 1, 96)``.

One embedding is computed per window of :data:`WINDOW_FRAMES` (76) mel frames, stepping
:data:`WINDOW_STEP` (8) frames, i.e. one embedding per 80 ms (:data:`CHUNK_SAMPLES` samples).
A wake word model sees the last :data:`MODEL_FRAMES` (16) embeddings (~1.3 s of windows, ~2 s of audio).

Two entry points, each reproducing one openWakeWord code path to within float rounding:

* :meth:`FeatureExtractor.embed_clips` -> ``(N, frames, 96)``: training features for equal-length
  clips, as ``openwakeword.utils.AudioFeatures.embed_clips`` computes them;
* :meth:`FeatureExtractor.stream_embeddings` -> ``(n_chunks, 96)``: what the streaming client
  (``openwakeword.Model.predict`` fed 1280-sample chunks) appends to its feature buffer, and
  :func:`stream_windows` -> the ``(16, 96)`` model input after every chunk.

The melspectrogram model floors its output at (maximum over *its whole input tensor* - 80 dB),
batch dimension included. openWakeWord calls it one clip (or one streaming window) at a time, so
that floor is per clip. To batch many clips in one call without changing results, this module
runs a copy of the model with that final floor cut off (via the ``onnx`` package) and applies the
floor per batch row in numpy, with the same float32 operations. If ``onnx`` is missing or the
graph does not have the expected shape, it falls back to one model call per row (exact, slower).

The embedding model is convolutional along time with 'valid' padding and a total time stride of 8
(its three 2x2 max-pools; every other layer has stride 1 in time). So instead of running it on each
76-frame window separately (windows overlap by 68 of 76 frames: ~6x repeated work), this module
runs a copy whose input time axis is free (the graph's two fixed reshapes become transposes) once
over a whole mel sequence: output ``t`` is exactly the embedding of frames ``[8t, 8t + 76)``.
Tests check this against the per-window model and openWakeWord (maximum difference 0.0 on CPU).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .errors import WakeforgeError

log = logging.getLogger(__name__)

MEL_BINS = 32
EMBEDDING_DIM = 96
WINDOW_FRAMES = 76
WINDOW_STEP = 8
CHUNK_SAMPLES = 1280
MODEL_FRAMES = 16

#: mel frames per 1280-sample chunk, and the audio context the streaming client gives each chunk
_HOP = 160
_STREAM_CONTEXT = 3 * _HOP  # the client reads the last CHUNK_SAMPLES + 480 samples of its buffer
_STREAM_WINDOW = CHUNK_SAMPLES + _STREAM_CONTEXT  # 1760 samples -> 8 mel frames
_FIRST_CHUNK_FRAMES = CHUNK_SAMPLES // _HOP - 3  # 5: the very first chunk has no context
#: the audio one embedding hears: 12640 samples (0.79 s) give exactly one
EMBEDDING_SAMPLES = (WINDOW_FRAMES + 3) * _HOP

#: work sizes bounding memory: audio samples per melspectrogram call, chunks per streaming block
_MEL_BATCH_SAMPLES = 1 << 21
_STREAM_BLOCK_CHUNKS = 4096
#: default windows per embedding-model call. On CPU, 16-32 windows per call ran fastest (larger
#: batches fall out of cache: 256 windows per call was ~35 % slower); GPUs want big batches.
CPU_EMBED_BATCH = 32
CUDA_EMBED_BATCH = 4096
#: embedding outputs per call of the sliding (whole-sequence) graph: 4-8 two-second clips per call
#: ran fastest on CPU; long streams are cut into pieces of this many windows.
CPU_SLIDING_WINDOWS = 128
CUDA_SLIDING_WINDOWS = 16384


def _mel_transform(spec: np.ndarray) -> np.ndarray:
    """openWakeWord's fixed rescaling of the model output (float32 in, float32 out)."""
    return spec / 10 + 2


class _UnflooredMelspec:
    """The melspectrogram graph without its final ``Clip(x, ReduceMax(x) - 80, hi)``.

    ``floor_db`` and ``ceiling`` are read from the graph so the numpy floor matches it exactly.
    """

    def __init__(self, session, floor_db: np.float32, ceiling: np.float32):
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.floor_db = floor_db
        self.ceiling = ceiling

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``(B, samples)`` float32 -> ``(B, frames, 32)`` float32, floored per row as the model does."""
        raw = self.session.run(None, {self.input_name: x})[0]
        raw = raw.reshape(raw.shape[0], -1, raw.shape[-1])
        floor = raw.max(axis=(1, 2), keepdims=True) - self.floor_db
        return np.minimum(np.maximum(raw, floor), self.ceiling)


def _unfloored_model(model_bytes: bytes):
    """``(graph without the whole-tensor floor, floor_db, ceiling)``, or ``None`` if not recognised."""
    try:  # a missing onnx package or an unexpected graph: None (the callers fall back)
        import onnx
        from onnx import helper, numpy_helper

        model = onnx.load_from_string(model_bytes)
        graph = model.graph
        if len(graph.output) != 1:
            return None
        producer = {out: node for node in graph.node for out in node.output}
        scalars: dict[str, np.ndarray] = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                scalars[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

        clip = producer.get(graph.output[0].name)
        if clip is None or clip.op_type != "Clip" or len(clip.input) < 2:
            return None
        cast = producer.get(clip.input[1])
        sub = producer.get(cast.input[0]) if cast is not None and cast.op_type == "Cast" else cast
        if sub is None or sub.op_type != "Sub":
            return None
        rmax = producer.get(sub.input[0])
        if rmax is None or rmax.op_type != "ReduceMax" or len(rmax.input) != 1:
            return None
        attrs = {a.name: helper.get_attribute_value(a) for a in rmax.attribute}
        if attrs.get("axes") not in (None, []) or attrs.get("keepdims", 1) != 0:
            return None  # not a reduction over the whole tensor
        x_name = clip.input[0]
        if rmax.input[0] != x_name or sub.input[1] not in scalars:
            return None
        floor_db = np.float32(scalars[sub.input[1]])
        if len(clip.input) > 2 and clip.input[2]:
            if clip.input[2] not in scalars:
                return None
            ceiling = np.float32(scalars[clip.input[2]])
        else:
            ceiling = np.float32(np.inf)

        dropped = {n.output[0] for n in (clip, sub, rmax, cast)}
        kept = [n for n in graph.node if n.output[0] not in dropped]
        graph.ClearField("node")
        graph.node.extend(kept)
        graph.ClearField("output")
        graph.output.append(helper.make_tensor_value_info(x_name, onnx.TensorProto.FLOAT, None))
        return model, floor_db, ceiling
    except Exception as exc:  # any surprise in the graph: use the exact per-row fallback instead
        log.debug("cannot build unfloored melspectrogram graph: %s", exc)
        return None


def _build_unfloored(model_bytes: bytes, providers: list[str], options) -> _UnflooredMelspec | None:
    """Cut the whole-tensor floor off the melspectrogram graph; ``None`` if that is not possible."""
    import onnxruntime as ort

    found = _unfloored_model(model_bytes)
    if found is None:
        return None
    model, floor_db, ceiling = found
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=providers)
    return _UnflooredMelspec(session, floor_db, ceiling)


def _sliding_model(model_bytes: bytes):
    """The embedding graph with a free time axis (see the module docstring); ``None`` if the graph
    is not the expected ``Reshape -> convolutions -> Reshape`` form."""
    try:  # a missing onnx package or an unexpected graph: None (the callers fall back)
        import onnx
        from onnx import helper

        model = onnx.load_from_string(model_bytes)
        graph = model.graph
        first, last = graph.node[0], graph.node[-1]
        if first.op_type != "Reshape" or last.op_type != "Reshape" or first.input[0] != graph.input[0].name:
            return None
        if last.output[0] != graph.output[0].name:
            return None
        if any(n.op_type not in ("Conv", "LeakyRelu", "Max", "MaxPool") for n in graph.node[1:-1]):
            return None
        # (N, T, 32, 1) -> (N, 1, T, 32); the last conv's (N, 96, T', 1) -> (N, T', 1, 96)
        nodes = [helper.make_node("Transpose", [first.input[0]], [first.output[0]], perm=[0, 3, 1, 2])]
        nodes += list(graph.node[1:-1])
        nodes.append(helper.make_node("Transpose", [last.input[0]], [last.output[0]], perm=[0, 2, 3, 1]))
        graph.ClearField("node")
        graph.node.extend(nodes)
        used = {name for n in graph.node for name in n.input}
        kept = [init for init in graph.initializer if init.name in used]
        graph.ClearField("initializer")
        graph.initializer.extend(kept)
        del graph.value_info[:]
        for value, axis, name in ((graph.input[0], 1, "frames"), (graph.output[0], 1, "windows")):
            dim = value.type.tensor_type.shape.dim[axis]
            dim.ClearField("dim_value")
            dim.dim_param = name
        return model
    except Exception as exc:  # any surprise in the graph: use the exact per-window model instead
        log.debug("cannot build the sliding embedding graph: %s", exc)
        return None


def _build_sliding_embedding(model_bytes: bytes, providers: list[str], options):
    import onnxruntime as ort

    model = _sliding_model(model_bytes)
    if model is None:
        return None
    return ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=providers)


class _TorchFrontend:
    """Both frontend graphs as torch modules on a device (GPUs without onnxruntime's CUDA build)."""

    def __init__(self, mel_bytes: bytes, emb_bytes: bytes, device: str):
        import torch

        from .onnx_torch import OnnxModule

        unfloored, sliding = _unfloored_model(mel_bytes), _sliding_model(emb_bytes)
        if unfloored is None or sliding is None:
            raise WakeforgeError("the frontend models are not in the form the torch frontend needs; use onnxruntime")
        model, self.floor_db, self.ceiling = unfloored
        self.torch = torch
        self.device = torch.device(device)
        self.mel = OnnxModule(model).to(self.device).eval()
        self.emb = OnnxModule(sliding).to(self.device).eval()

    def melspectrogram(self, x: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            raw = self.mel(torch.as_tensor(x, device=self.device))
            raw = raw.reshape(raw.shape[0], -1, raw.shape[-1])
            floor = raw.amax(dim=(1, 2), keepdim=True) - float(self.floor_db)
            spec = torch.clamp(torch.maximum(raw, floor), max=float(self.ceiling))
            return spec.cpu().numpy()

    def embed(self, mel: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            out = self.emb(torch.as_tensor(mel, device=self.device)[..., None])
            return out.reshape(mel.shape[0], -1, EMBEDDING_DIM).cpu().numpy()


def _progress(total: int, enabled: bool, desc: str, unit: str):
    """A tqdm bar if asked for and available, else a no-op object with ``update``/``close``."""
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(total=total, desc=desc, unit=unit)
        except ImportError:
            pass

    class _Null:
        def update(self, n: int = 1) -> None:
            pass

        def close(self) -> None:
            pass

    return _Null()


def _windows(mel: np.ndarray, start: int = 0) -> np.ndarray:
    """Strided view of 76-frame windows every 8 frames along axis -2 of ``(..., frames, 32)``."""
    view = np.lib.stride_tricks.sliding_window_view(mel, WINDOW_FRAMES, axis=-2)  # (..., W, 32, 76)
    return np.swapaxes(view, -1, -2)[..., start::WINDOW_STEP, :, :]


class FeatureExtractor:
    """openWakeWord's melspectrogram + embedding models behind batched, exact numpy calls.

    Args:
        melspec_path: ``melspectrogram.onnx``.
        embedding_path: ``embedding_model.onnx``.
        threads: onnxruntime intra-op threads per session.
        device: ``"cpu"`` or ``"cuda"`` (CUDAExecutionProvider when onnxruntime has it, else CPU
            with a warning).
        embed_batch: windows per embedding-model call (speed and memory; results agree bit-for-bit in tests);
            default :data:`CPU_EMBED_BATCH` or :data:`CUDA_EMBED_BATCH`.
        sliding: run the embedding model once over whole mel sequences (default; see the module
            docstring) rather than once per 76-frame window.
        backend: ``"onnxruntime"``, ``"torch"`` (the graphs run by :mod:`wakeforge.onnx_torch`), or
            ``"auto"``: onnxruntime, except on ``cuda`` when only torch has CUDA (onnxruntime's
            CUDA build is a separate package).

    Raises:
        WakeforgeError: a model file is missing, unreadable, or not the expected model.
    """

    def __init__(
        self,
        melspec_path: str | os.PathLike,
        embedding_path: str | os.PathLike,
        threads: int = 1,
        device: str = "cpu",
        embed_batch: int | None = None,
        sliding: bool = True,
        backend: str = "auto",
    ):
        import onnxruntime as ort

        if device not in ("cpu", "cuda"):
            raise WakeforgeError(f"feature device must be 'cpu' or 'cuda', not {device!r}")
        if backend not in ("auto", "onnxruntime", "torch"):
            raise WakeforgeError(f"feature backend must be 'auto', 'onnxruntime' or 'torch', not {backend!r}")
        providers = ["CPUExecutionProvider"]
        use_torch = backend == "torch"
        if device == "cuda" and backend != "torch":
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
            elif backend == "auto" and _torch_cuda():
                use_torch = True
            else:
                log.warning("device 'cuda' asked for, but neither onnxruntime nor torch has CUDA; using the CPU")
                device = "cpu"
        if use_torch and device == "cuda" and not _torch_cuda():
            log.warning("device 'cuda' asked for, but torch has no CUDA; using the CPU")
            device = "cpu"
        self.providers = [f"torch:{device}"] if use_torch else providers
        self.threads = int(threads)
        on_gpu = providers[0] == "CUDAExecutionProvider" or (use_torch and device == "cuda")
        self.embed_batch = max(1, int(embed_batch or (CUDA_EMBED_BATCH if on_gpu else CPU_EMBED_BATCH)))

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, self.threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # no busy-waiting worker threads: several feature jobs often share the CPU cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")

        mel_bytes = _read_model(melspec_path, "melspectrogram")
        emb_bytes = _read_model(embedding_path, "embedding")
        self._mel_session = _session(mel_bytes, melspec_path, options, providers)
        self._emb_session = _session(emb_bytes, embedding_path, options, providers)
        self._mel_input = self._mel_session.get_inputs()[0].name
        self._emb_input = self._emb_session.get_inputs()[0].name

        mel_out = self._mel_session.get_outputs()[0].shape
        if len(self._mel_session.get_inputs()[0].shape) != 2 or len(mel_out) != 4 or mel_out[-1] != MEL_BINS:
            raise WakeforgeError(
                f"{melspec_path} is not openWakeWord's melspectrogram model "
                f"(expected input (batch, samples) and output (batch, 1, frames, {MEL_BINS}))"
            )
        emb_in = self._emb_session.get_inputs()[0].shape
        emb_out = self._emb_session.get_outputs()[0].shape
        if list(emb_in[1:]) != [WINDOW_FRAMES, MEL_BINS, 1] or emb_out[-1] != EMBEDDING_DIM:
            raise WakeforgeError(
                f"{embedding_path} is not openWakeWord's embedding model "
                f"(expected input (batch, {WINDOW_FRAMES}, {MEL_BINS}, 1) and output (batch, 1, 1, {EMBEDDING_DIM}))"
            )

        self._unfloored = _build_unfloored(mel_bytes, providers, options)
        if self._unfloored is None:
            log.info("melspectrogram: using one model call per row (onnx missing or graph not recognised)")
        self._sliding = _build_sliding_embedding(emb_bytes, providers, options) if sliding else None
        if sliding and self._sliding is None:
            log.info("embedding: using one model call per window (onnx missing or graph not recognised)")
        self.sliding_windows = CUDA_SLIDING_WINDOWS if on_gpu else CPU_SLIDING_WINDOWS
        self._torch = None
        if use_torch:
            import torch

            torch.set_num_threads(max(1, self.threads))
            self._torch = _TorchFrontend(mel_bytes, emb_bytes, device)

    # ------------------------------------------------------------------ model calls

    def melspectrogram(self, audio: np.ndarray) -> np.ndarray:
        """Transformed mel frames of equal-length rows, each computed as if alone.

        ``audio``: ``(B, samples)`` int16 (or float32 holding int16 values), samples >= 512.
        Returns ``(B, frames, 32)`` float32 with ``frames = (samples - 512) // 160 + 1``
        (= ``samples / 160 - 3`` for multiples of 160), after openWakeWord's ``/10 + 2``.
        """
        audio = np.asarray(audio)
        if audio.ndim != 2:
            raise ValueError(f"melspectrogram expects (rows, samples), got shape {audio.shape}")
        n, samples = audio.shape
        frames = (samples - 512) // _HOP + 1 if samples >= 512 else 0
        out = np.empty((n, max(frames, 0), MEL_BINS), dtype=np.float32)
        if n == 0 or frames <= 0:
            if n and frames <= 0:
                raise WakeforgeError(f"audio of {samples} samples is too short for a melspectrogram (need >= 512)")
            return out
        rows = max(1, _MEL_BATCH_SAMPLES // samples)
        for i in range(0, n, rows):
            x = audio[i : i + rows].astype(np.float32)
            if self._torch is not None:
                spec = self._torch.melspectrogram(x)
            elif self._unfloored is not None:
                spec = self._unfloored(x)
            else:
                spec = np.concatenate([self._mel_session.run(None, {self._mel_input: r[None]})[0].reshape(1, -1, MEL_BINS) for r in x])
            out[i : i + rows] = _mel_transform(spec)
        return out

    def embed_windows(self, windows: np.ndarray) -> np.ndarray:
        """``(B, 76, 32)`` mel windows (any strides) -> ``(B, 96)`` float32, in bounded batches."""
        n = windows.shape[0]
        if self._torch is not None:  # a 76-frame sequence has exactly one sliding output
            return self.embed_mel(windows).reshape(n, EMBEDDING_DIM)
        out = np.empty((n, EMBEDDING_DIM), dtype=np.float32)
        step = self.embed_batch
        for i in range(0, n, step):
            x = np.ascontiguousarray(windows[i : i + step], dtype=np.float32)[..., None]
            out[i : i + step] = self._emb_session.run(None, {self._emb_input: x})[0].reshape(-1, EMBEDDING_DIM)
        return out

    def embed_mel(self, mel: np.ndarray) -> np.ndarray:
        """Embeddings of every 76-frame window, every 8 frames, of equal-length mel sequences.

        ``mel``: ``(B, F, 32)`` transformed mel frames, ``F >= 76``. Returns ``(B, W, 96)`` float32 with
        ``W = (F - 76) // 8 + 1``; ``[:, t]`` embeds frames ``[8t, 8t + 76)``.
        """
        b, frames, _ = mel.shape
        n_win = (frames - WINDOW_FRAMES) // WINDOW_STEP + 1
        if self._sliding is None and self._torch is None:
            return self.embed_windows(_windows(mel).reshape(b * n_win, WINDOW_FRAMES, MEL_BINS)).reshape(b, n_win, EMBEDDING_DIM)
        out = np.empty((b, n_win, EMBEDDING_DIM), dtype=np.float32)
        per_call = max(1, self.sliding_windows // n_win)  # rows per call when a row is short
        span = max(1, self.sliding_windows)  # windows per call when one row is long
        for i in range(0, b, per_call):
            for w in range(0, n_win, span):
                k = min(span, n_win - w)
                x = np.ascontiguousarray(mel[i : i + per_call, w * WINDOW_STEP : (w + k - 1) * WINDOW_STEP + WINDOW_FRAMES], dtype=np.float32)
                if self._torch is not None:
                    y = self._torch.embed(x)
                else:
                    y = self._sliding.run(None, {self._sliding.get_inputs()[0].name: x[..., None]})[0]
                out[i : i + per_call, w : w + k] = y.reshape(x.shape[0], -1, EMBEDDING_DIM)[:, :k]
        return out

    # ------------------------------------------------------------------ clips

    def embed_clips(self, clips_pcm: np.ndarray, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Embeddings of equal-length clips, as ``AudioFeatures.embed_clips`` computes them.

        Args:
            clips_pcm: ``(N, samples)`` int16, 16 kHz; at least 12640 samples (one window).
            batch_size: clips per block; memory use is bounded by one block.
            progress: show a tqdm bar (clips).

        Returns:
            ``(N, frames, 96)`` float32 with ``frames = (mel_frames - 76) // 8 + 1``
            (16 for 2 s clips, 28 for 3 s clips).
        """
        return self._embed(clips_pcm, batch_size, progress, last=None)

    def embed_clips_last(
        self, clips_pcm: np.ndarray, n_frames: int = MODEL_FRAMES, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """The last ``n_frames`` embeddings of each clip: ``(N, n_frames, 96)`` float32.

        Same values as ``embed_clips(clips_pcm)[:, -n_frames:]`` (the mel floor still sees the
        whole clip), but only those windows go through the embedding model.

        Raises:
            WakeforgeError: the clips are too short to give ``n_frames`` embeddings
                (``n_frames = 16`` needs 2 s = 32000 samples).
        """
        return self._embed(clips_pcm, batch_size, progress, last=int(n_frames))

    def _embed(self, clips_pcm: np.ndarray, batch_size: int, progress: bool, last: int | None) -> np.ndarray:
        clips = _check_pcm(clips_pcm, ndim=2, what="clips_pcm")
        n, samples = clips.shape
        if samples < EMBEDDING_SAMPLES:
            raise WakeforgeError(
                f"clips of {samples} samples are too short for an embedding: need at least {EMBEDDING_SAMPLES} "
                f"samples ({EMBEDDING_SAMPLES / 16000:.2f} s at 16 kHz)"
            )
        n_windows = ((samples - 512) // _HOP + 1 - WINDOW_FRAMES) // WINDOW_STEP + 1
        if last is not None:
            if last < 1:
                raise ValueError(f"n_frames must be >= 1, got {last}")
            if n_windows < last:
                need = ((last - 1) * WINDOW_STEP + WINDOW_FRAMES + 3) * _HOP
                raise WakeforgeError(
                    f"clips of {samples} samples give {n_windows} embedding frames, fewer than the {last} needed: "
                    f"make clips at least {need} samples ({need / 16000:.2f} s at 16 kHz)"
                )
        keep = n_windows if last is None else last
        out = np.empty((n, keep, EMBEDDING_DIM), dtype=np.float32)
        batch_size = max(1, int(batch_size))
        bar = _progress(n, progress, "embedding clips", "clip")
        try:
            for i in range(0, n, batch_size):
                mel = self.melspectrogram(clips[i : i + batch_size])
                out[i : i + len(mel)] = self.embed_mel(mel[:, (n_windows - keep) * WINDOW_STEP :])
                bar.update(len(mel))
        finally:
            bar.close()
        return out

    # ------------------------------------------------------------------ streaming

    def stream_embeddings(self, audio_pcm: np.ndarray, progress: bool = False) -> np.ndarray:
        """One embedding per 1280-sample chunk, exactly as openWakeWord's streaming client builds them.

        The client (``AudioFeatures.__call__``, used by ``Model.predict``) starts its mel buffer as
        76 frames of ones; for each chunk it runs the melspectrogram on the last 1760 samples of
        audio (only 1280 for the first chunk: 5 frames instead of 8), appends the frames and
        embeds the last 76. This reproduces that in large batches, in blocks of bounded memory.
        Trailing samples short of a whole chunk are ignored (the client holds them back too).

        Args:
            audio_pcm: 1-D int16 at 16 kHz, any length.
            progress: show a tqdm bar (chunks).

        Returns:
            ``(len(audio_pcm) // 1280, 96)`` float32; row ``k`` is what the client's feature
            buffer receives after chunk ``k``.
        """
        audio = _check_pcm(audio_pcm, ndim=1, what="audio_pcm")
        n_chunks = audio.shape[0] // CHUNK_SAMPLES
        out = np.empty((n_chunks, EMBEDDING_DIM), dtype=np.float32)
        if n_chunks == 0:
            return out
        bar = _progress(n_chunks, progress, "streaming embeddings", "chunk")
        try:
            # mel history carried into the next block: enough that each new chunk's 8 frames
            # complete a 76-frame window. The first chunk sees 71 ones + its 5 frames.
            first = self.melspectrogram(audio[None, :CHUNK_SAMPLES])[0]
            carry = np.ones((WINDOW_FRAMES - _FIRST_CHUNK_FRAMES, MEL_BINS), dtype=np.float32)
            carry = np.concatenate([carry, first])
            out[0] = self.embed_windows(carry[None])[0]
            bar.update(1)
            carry = carry[WINDOW_STEP:]
            for start in range(1, n_chunks, _STREAM_BLOCK_CHUNKS):
                stop = min(n_chunks, start + _STREAM_BLOCK_CHUNKS)
                # chunk k's melspectrogram input: samples [(k+1)*1280 - 1760, (k+1)*1280)
                lo = (start + 1) * CHUNK_SAMPLES - _STREAM_WINDOW
                hi = stop * CHUNK_SAMPLES
                rows = np.lib.stride_tricks.sliding_window_view(audio[lo:hi], _STREAM_WINDOW)[::CHUNK_SAMPLES]
                mel = self.melspectrogram(rows)  # (stop - start, 8, 32)
                mel = np.concatenate([carry, mel.reshape(-1, MEL_BINS)])
                out[start:stop] = self.embed_mel(mel[None])[0]
                carry = mel[-(WINDOW_FRAMES - WINDOW_STEP) :]
                bar.update(stop - start)
        finally:
            bar.close()
        return out


def stream_windows(embeddings: np.ndarray, n_frames: int = MODEL_FRAMES) -> np.ndarray:
    """Sliding model inputs over streaming embeddings (a read-only strided view, no copy).

    Args:
        embeddings: ``(n_chunks, 96)`` from :meth:`FeatureExtractor.stream_embeddings`.
        n_frames: model input length.

    Returns:
        ``(n_chunks - n_frames + 1, n_frames, 96)``; window ``i`` is the model input after chunk
        ``i + n_frames - 1`` (empty if there are fewer than ``n_frames`` chunks).
    """
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2:
        raise ValueError(f"stream_windows expects (n_chunks, dim) embeddings, got shape {embeddings.shape}")
    if embeddings.shape[0] < n_frames:
        return np.empty((0, n_frames, embeddings.shape[1]), dtype=embeddings.dtype)
    view = np.lib.stride_tricks.sliding_window_view(embeddings, n_frames, axis=0)  # (W, dim, n_frames)
    return np.swapaxes(view, 1, 2)


# ---------------------------------------------------------------------- helpers


def resolve_device(name: str) -> str:
    """The config's ``features.device``: ``auto`` -> ``cuda`` when torch or onnxruntime has CUDA, else ``cpu``."""
    if name != "auto":
        return name
    import onnxruntime as ort

    return "cuda" if _torch_cuda() or "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"


def _torch_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def _read_model(path: str | os.PathLike, what: str) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise WakeforgeError(f"{what} model file not found: {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WakeforgeError(f"cannot read {what} model file {path}: {exc}") from exc


def _session(model_bytes: bytes, path: str | os.PathLike, options, providers: list[str]):
    import onnxruntime as ort

    try:
        return ort.InferenceSession(model_bytes, sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for bad models
        raise WakeforgeError(f"cannot load ONNX model {path}: {exc}") from exc


def _check_pcm(audio: np.ndarray, ndim: int, what: str) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.dtype != np.int16:
        raise ValueError(f"{what} must be int16 PCM, got {audio.dtype} (use wakeforge.audio.to_pcm)")
    if audio.ndim != ndim:
        raise ValueError(f"{what} must be {ndim}-D, got shape {audio.shape}")
    return audio
