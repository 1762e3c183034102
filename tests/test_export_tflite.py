"""TFLite export (litert-torch, no TensorFlow) against torch, the ONNX export and openWakeWord's runtime.

Train-free: small models with fixed seeds. The TFLite file must give the ONNX file's scores within
1e-4 in ``ai-edge-litert``, and both files must give the same per-frame predictions within 1e-4
when openWakeWord 0.5.1's own ``Model`` streams Piper speech to them in 1280-sample frames.

openWakeWord's tflite path does ``import tflite_runtime.interpreter as tflite``. The
``tflite-runtime`` wheel (2.14.0, the last release) installs but cannot run with numpy 2 ("A module
that was compiled using NumPy 1.x cannot be run in NumPy 2"), so these tests put a shim module
``tflite_runtime.interpreter`` into ``sys.modules`` (monkeypatch, undone after each test) that is
``ai_edge_litert.interpreter``, its maintained successor with the same ``Interpreter`` API. The
tests also check that openWakeWord really built ``ai_edge_litert`` interpreters: when the tflite
import fails it silently falls back to an ``.onnx`` file beside the ``.tflite`` one.
"""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from wakeforge.errors import WakeforgeError
from wakeforge.export import OnnxScorer, TfliteScorer, export_onnx, export_tflite
from wakeforge.model import build_model

TOL = 1e-4
CHUNK = 1280  # samples per frame openWakeWord's runtime is fed (80 ms at 16 kHz)
MODEL_CONFIGS = {
    "dnn": {"type": "dnn", "layer_dim": 16, "n_blocks": 1},
    "conv_attention": {"type": "conv_attention", "layer_dim": 16, "n_blocks": 1, "attention_heads": 2},
}


def make_model(kind: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(MODEL_CONFIGS[kind]).eval()


@pytest.fixture(scope="module", params=sorted(MODEL_CONFIGS))
def exported(request, tmp_path_factory):
    """(model, onnx path, tflite path, returned error, conversion seconds); the files sit in separate folders."""
    model = make_model(request.param)
    root = tmp_path_factory.mktemp(f"tflite_{request.param}")
    onnx_path, tflite_path = root / "onnx" / "hey_test.onnx", root / "tflite" / "hey_test.tflite"
    export_onnx(model, onnx_path)
    start = time.perf_counter()
    err = export_tflite(model, tflite_path, onnx_path=onnx_path)
    return model, onnx_path, tflite_path, err, time.perf_counter() - start


def test_tflite_matches_onnx_and_torch(exported):
    from ai_edge_litert.interpreter import Interpreter

    model, onnx_path, tflite_path, err, seconds = exported
    assert err < TOL
    interpreter = Interpreter(model_path=str(tflite_path))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert list(inp["shape"]) == [1, 16, 96] and inp["dtype"] == np.float32
    assert list(out["shape"]) == [1, 1] and out["dtype"] == np.float32

    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 16, 96)).astype(np.float32) * rng.uniform(0.1, 4.0, (64, 1, 1)).astype(np.float32)
    tflite, onnx = TfliteScorer(tflite_path)(x), OnnxScorer(onnx_path)(x)
    with torch.no_grad():
        expected = model(torch.as_tensor(x)).numpy()[:, 0]
    assert tflite.shape == onnx.shape == (64,)
    np.testing.assert_allclose(tflite, onnx, rtol=0, atol=TOL)
    np.testing.assert_allclose(tflite, expected, rtol=0, atol=TOL)
    assert np.ptp(expected) > 1e-3  # the inputs move the score, so the comparison means something
    assert not list(tflite_path.parent.glob("*.tmp*"))
    print(f"conversion + checks {seconds:.1f} s; max |tflite - onnx| {np.abs(tflite - onnx).max():.1e}")


# ------------------------------------------------------------------------------ openWakeWord's runtime


@pytest.fixture(scope="module")
def frontend() -> Path:
    """openWakeWord's bundled frontend models (ONNX and TFLite), skipping if the package lacks them."""
    openwakeword = pytest.importorskip("openwakeword")
    d = Path(openwakeword.__file__).parent / "resources" / "models"
    needed = [f"{name}.{ext}" for name in ("melspectrogram", "embedding_model") for ext in ("onnx", "tflite")]
    if not all((d / n).is_file() for n in needed):
        pytest.skip(f"openwakeword frontend models not found in {d}")
    return d


@pytest.fixture
def tflite_runtime_shim(monkeypatch):
    """Make ``import tflite_runtime.interpreter`` give ``ai_edge_litert.interpreter`` (see the module docstring)."""
    from ai_edge_litert import interpreter

    package = types.ModuleType("tflite_runtime")
    package.interpreter = interpreter
    monkeypatch.setitem(sys.modules, "tflite_runtime", package)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", interpreter)
    return interpreter


@pytest.fixture(scope="module")
def speech_pcm(piper_clips) -> np.ndarray:
    """~5 s of 16 kHz int16: three Piper utterances between stretches of quiet noise, whole 1280-sample frames."""
    rng = np.random.default_rng(11)
    gap = lambda n: (rng.standard_normal(n) * 30).astype(np.int16)  # noqa: E731
    parts = [gap(16000)]
    for clip in piper_clips:
        parts += [clip.astype(np.int16), gap(8000)]
    audio = np.concatenate(parts)
    return audio[: len(audio) // CHUNK * CHUNK]


def stream_openwakeword(model_path: Path, framework: str, frontend: Path, pcm: np.ndarray) -> tuple[np.ndarray, object]:
    """Per-frame predictions of openWakeWord's ``Model`` streaming ``pcm``, and the loaded wake word model object."""
    from openwakeword.model import Model

    # The runtime fills its feature buffer with np.random noise at start-up; seed it so both runs warm up alike.
    state = np.random.get_state()
    np.random.seed(0)
    try:
        oww = Model(
            wakeword_models=[str(model_path)],
            inference_framework=framework,
            melspec_model_path=str(frontend / f"melspectrogram.{framework}"),
            embedding_model_path=str(frontend / f"embedding_model.{framework}"),
        )
    finally:
        np.random.set_state(state)
    name = model_path.stem
    scores = np.array([oww.predict(pcm[i : i + CHUNK])[name] for i in range(0, len(pcm), CHUNK)], dtype=np.float64)
    return scores, oww.models[name]


def test_openwakeword_runtime_gives_same_scores_for_tflite_and_onnx(exported, frontend, tflite_runtime_shim, speech_pcm):
    _, onnx_path, tflite_path, _, _ = exported
    onnx_scores, onnx_model = stream_openwakeword(onnx_path, "onnx", frontend, speech_pcm)
    tflite_scores, tflite_model = stream_openwakeword(tflite_path, "tflite", frontend, speech_pcm)

    assert isinstance(tflite_model, tflite_runtime_shim.Interpreter), "openWakeWord fell back to onnxruntime"
    assert type(onnx_model).__name__ == "InferenceSession"
    assert len(tflite_scores) == len(onnx_scores) == len(speech_pcm) // CHUNK > 50
    assert np.all((tflite_scores >= 0) & (tflite_scores <= 1))
    # frames 0-4 are forced to 0 by the runtime; the rest are the model's scores
    assert np.ptp(onnx_scores[5:]) > 1e-3, "the scores do not follow the audio"
    np.testing.assert_allclose(tflite_scores, onnx_scores, rtol=0, atol=TOL)
    print(f"{len(onnx_scores)} frames, max |tflite - onnx| {np.abs(tflite_scores - onnx_scores).max():.1e}")


# ------------------------------------------------------------------------------ errors


def test_missing_converter_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "litert_torch", None)  # makes `import litert_torch` raise ImportError
    with pytest.raises(WakeforgeError, match="pip install litert-torch"):
        export_tflite(make_model("dnn"), tmp_path / "m.tflite")
    assert not list(tmp_path.iterdir())


def test_missing_runtime_says_what_to_install(exported, monkeypatch):
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(WakeforgeError, match="pip install ai-edge-litert"):
        TfliteScorer(exported[2])


def test_disagreeing_scores_raise_and_leave_no_file(tmp_path):
    model = make_model("dnn")
    other_onnx = tmp_path / "other.onnx"
    export_onnx(make_model("dnn", seed=1), other_onnx)  # a different model's ONNX file
    out = tmp_path / "out" / "m.tflite"
    with pytest.raises(WakeforgeError, match=r"does not match .*\|tflite - onnx\|") as info:
        export_tflite(model, out, onnx_path=other_onnx)
    assert "\n" not in str(info.value)
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_converter_failure_is_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    import litert_torch

    def refuse(*args, **kwargs):
        raise RuntimeError("unsupported op aten::frobnicate\n  a long MLIR dump")

    monkeypatch.setattr(litert_torch, "convert", refuse)
    out = tmp_path / "m.tflite"
    with pytest.raises(WakeforgeError, match=r"could not convert DNN to TFLite: RuntimeError: unsupported op aten::frobnicate$"):
        export_tflite(make_model("dnn"), out)
    assert not list(tmp_path.iterdir())
