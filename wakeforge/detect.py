"""Wake word detection on live or recorded audio with a trained model, in openWakeWord's own runtime.

In: a model file (``.onnx``, or ``.tflite`` with ai-edge-litert installed), its sidecar JSON (the
calibrated threshold written next to the model), and 16 kHz int16 audio in 1280-sample frames.
Out: detections ``(seconds from the start, score)``: the first frame at or above the threshold,
then nothing for ``refractory_s`` (one detection per utterance, not one per 80 ms frame).

The scores come from ``openwakeword.model.Model.predict``, exactly what Home Assistant's
openWakeWord add-on runs, using the frontend models in ``resources/frontend``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import WakeforgeError
from .features import CHUNK_SAMPLES
from .metrics import FRAME_SECONDS

log = logging.getLogger(__name__)

def sidecar_path(model_path: str | os.PathLike) -> Path:
    """``results/<m>/<m>.onnx`` -> ``results/<m>/<m>.json``."""
    return Path(model_path).with_suffix(".json")


def load_threshold(model_path: str | os.PathLike, default: float = 0.5) -> tuple[float, str]:
    """The calibrated threshold from the model's sidecar JSON, or ``default``; and where it came from."""
    path = sidecar_path(model_path)
    if not path.is_file():
        return default, f"default {default} (no {path.name} next to the model)"
    try:
        threshold = float(json.loads(path.read_text())["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WakeforgeError(f"{path} has no readable threshold ({exc}); re-run the workflow or pass --threshold") from None
    return threshold, f"{threshold:.4f} calibrated ({path.name})"


class Detector:
    """Feeds frames to openWakeWord's runtime and reports debounced detections."""

    def __init__(
        self,
        model_path: str | os.PathLike,
        threshold: float,
        refractory_s: float = 1.0,
        frontend_dir: str | os.PathLike = "resources/frontend",
    ):
        model_path = Path(model_path)
        if not model_path.is_file():
            raise WakeforgeError(f"model file not found: {model_path}")
        framework = "tflite" if model_path.suffix == ".tflite" else "onnx"
        try:
            from openwakeword.model import Model
        except ImportError:
            raise WakeforgeError("openwakeword is not installed: pip install --no-deps openwakeword==0.5.1") from None
        melspec, embedding = frontend_files(frontend_dir, framework)
        if framework == "tflite":
            _use_litert_for_tflite_runtime()
        self.model = Model(
            wakeword_models=[str(model_path)],
            inference_framework=framework,
            melspec_model_path=str(melspec),
            embedding_model_path=str(embedding),
        )
        self.name = next(iter(self.model.models))
        self.threshold = float(threshold)
        self.refractory_frames = max(1, int(round(refractory_s / FRAME_SECONDS)))
        self.frames = 0
        self._last = -(10**9)

    def process(self, frame: np.ndarray) -> tuple[float, bool]:
        """Score one 1280-sample int16 frame: ``(score, detected)``."""
        score = float(self.model.predict(np.asarray(frame, dtype=np.int16))[self.name])
        fired = score >= self.threshold and self.frames - self._last > self.refractory_frames
        if fired:
            self._last = self.frames
        self.frames += 1
        return score, fired

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[float, float]]:
        """``(seconds at the end of the frame, score)`` for each detection."""
        for frame in frames:
            score, fired = self.process(frame)
            if fired:
                yield self.frames * FRAME_SECONDS, score


def frontend_files(frontend_dir: str | os.PathLike, framework: str) -> tuple[Path, Path]:
    """The melspectrogram and embedding models for ``framework`` (openWakeWord's runtime wants the
    frontend in the same format as the wake word model): from ``frontend_dir``, else for TFLite the
    ``.tflite`` twins shipped in the installed openwakeword package (identical models)."""
    ext = "tflite" if framework == "tflite" else "onnx"
    folders = [Path(frontend_dir)]
    if ext == "tflite":
        from .assets import _installed_openwakeword_models_dir

        installed = _installed_openwakeword_models_dir()
        folders += [installed] if installed is not None else []
    for folder in folders:
        melspec, embedding = folder / f"melspectrogram.{ext}", folder / f"embedding_model.{ext}"
        if melspec.is_file() and embedding.is_file():
            return melspec, embedding
    raise WakeforgeError(
        f"frontend models melspectrogram.{ext} and embedding_model.{ext} not found in {', '.join(map(str, folders))}: "
        "run the workflow first, pass --frontend DIR, or use the .onnx model"
    )


def wav_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """1280-sample int16 frames of any audio file, resampled to 16 kHz mono (a partial last frame is dropped)."""
    from .audio import read_audio, to_pcm

    audio = to_pcm(read_audio(path))
    for start in range(0, len(audio) - CHUNK_SAMPLES + 1, CHUNK_SAMPLES):
        yield audio[start : start + CHUNK_SAMPLES]


def microphone_frames(device: str | int | None = None) -> Iterator[np.ndarray]:
    """Live 1280-sample int16 frames from a microphone (needs the optional ``sounddevice`` package)."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise WakeforgeError(f"microphone input needs sounddevice and PortAudio ({exc}): pip install sounddevice, or use --wav FILE") from None
    with sd.InputStream(samplerate=16000, channels=1, dtype="int16", blocksize=CHUNK_SAMPLES, device=device) as stream:
        while True:
            block, _ = stream.read(CHUNK_SAMPLES)
            yield block[:, 0].copy()


def _use_litert_for_tflite_runtime() -> None:
    """openwakeword 0.5.1 imports ``tflite_runtime``, which has no wheel past Python 3.11 and breaks
    with numpy 2; ai-edge-litert is its maintained successor with the same Interpreter API."""
    import sys
    import types

    try:
        import tflite_runtime.interpreter  # noqa: F401

        return
    except ImportError:
        pass
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        raise WakeforgeError("a .tflite model needs ai-edge-litert: pip install ai-edge-litert (or use the .onnx model)") from None
    package = types.ModuleType("tflite_runtime")
    package.interpreter = interpreter
    sys.modules.setdefault("tflite_runtime", package)
    sys.modules.setdefault("tflite_runtime.interpreter", interpreter)
