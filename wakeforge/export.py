"""Export: a trained checkpoint -> ONNX and TFLite files openWakeWord's runtime loads as a wake word model.

In: the checkpoint written by training. Out: ``<model>.onnx`` and ``<model>.tflite``, each with
one input ``[1, 16, 96]`` (the last 16 embedding frames) and one output ``[1, 1]`` (the score).
The ONNX file is verified against torch with onnxruntime, the TFLite file (converted straight
from torch by ``litert-torch``, no TensorFlow) against torch and the ONNX scores with
``ai-edge-litert``, before either is put in place.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .audio import atomic_path
from .errors import WakeforgeError
from .model import EMBEDDING_DIM, N_FRAMES

log = logging.getLogger(__name__)

EXPORT_TOLERANCE = 1e-5
TFLITE_TOLERANCE = 1e-4  # max |tflite - torch| and |tflite - onnx| on the check batch
TFLITE_CHECK_BATCH = 16


def export_onnx(model: torch.nn.Module, out_path: str | os.PathLike, seed: int = 0) -> float:
    """Write ``model`` as ONNX (input ``[1, 16, 96]``, output ``[1, 1]``); return the max |onnx - torch| on a check batch."""
    import onnxruntime as ort

    model = model.cpu().eval()
    example = torch.zeros(1, N_FRAMES, EMBEDDING_DIM)
    with atomic_path(out_path, ".onnx") as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), tmp, input_names=["input"], output_names=["score"], dynamo=True, external_data=False, verbose=False)
        session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        check = torch.randn(8, N_FRAMES, EMBEDDING_DIM, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            expected = model(check).numpy()
        got = np.concatenate([session.run(None, {"input": check[i : i + 1].numpy()})[0] for i in range(len(check))])
        err = float(np.max(np.abs(got - expected)))
        if got.shape != (8, 1) or err > EXPORT_TOLERANCE:
            raise WakeforgeError(f"ONNX export of {out_path} does not match torch (max error {err:.2e}, shape {got.shape})")
    return err


class OnnxScorer:
    """Scores ``(n, 16, 96)`` windows with an exported model, batching when the model allows it."""

    def __init__(self, path: str | os.PathLike, threads: int = 1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise WakeforgeError(f"cannot load ONNX model {path}: {exc}") from exc
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        # The exported input is fixed at batch 1, as openWakeWord's runtime feeds it.
        return np.array([self.session.run(None, {self.input_name: w[None]})[0][0, 0] for w in windows], dtype=np.float32)


# ------------------------------------------------------------------------------ TFLite


def _tflite_interpreter(path: str | os.PathLike, threads: int = 1):
    """An allocated ``ai_edge_litert`` interpreter for ``path``."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise WakeforgeError("the TFLite runtime is missing: pip install ai-edge-litert") from exc
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=max(1, threads))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise WakeforgeError(f"cannot load TFLite model {path}: {_one_line(exc)}") from exc
    return interpreter


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


# Loggers of litert-torch's dependencies that report irrelevant things on import and conversion
# (torchao: "Failed to load ..._C_cutlass_90a.abi3.so" on a CPU build; jax: no TPU backend).
_NOISY_LOGGERS = ("torchao", "jax._src.xla_bridge")


def _below_warning(record: logging.LogRecord) -> bool:
    """Root-logger filter: litert-torch logs each lowered op ("Use JAX lowering: aten.mm") with ``logging.info``."""
    return record.levelno >= logging.WARNING


@contextmanager
def _quiet_litert():
    """Turn off litert-torch's progress printing (an environment switch), its per-op root-logger
    INFO lines, Python warnings and dependencies' start-up chatter while importing and converting."""
    old = os.environ.get("LITERT_TORCH_SHOW_PROGRESS")
    os.environ["LITERT_TORCH_SHOW_PROGRESS"] = "n"
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    logging.getLogger().addFilter(_below_warning)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.getLogger().removeFilter(_below_warning)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        if old is None:
            os.environ.pop("LITERT_TORCH_SHOW_PROGRESS", None)
        else:
            os.environ["LITERT_TORCH_SHOW_PROGRESS"] = old


def _check_io(interpreter, path: str | os.PathLike) -> None:
    """The openWakeWord contract: one float32 input ``[1, 16, 96]``, one float32 output ``[1, 1]``."""
    ins, outs = interpreter.get_input_details(), interpreter.get_output_details()
    got = ([(list(d["shape"]), np.dtype(d["dtype"]).name) for d in ins], [(list(d["shape"]), np.dtype(d["dtype"]).name) for d in outs])
    want = ([([1, N_FRAMES, EMBEDDING_DIM], "float32")], [([1, 1], "float32")])
    if got != want:
        raise WakeforgeError(f"TFLite model {path} has inputs/outputs {got}, expected {want}")


def export_tflite(model: torch.nn.Module, out_path: str | os.PathLike, seed: int = 0, onnx_path: str | os.PathLike | None = None) -> float:
    """Write ``model`` as TFLite (input ``[1, 16, 96]``, output ``[1, 1]``) with ``litert-torch``.

    Before the file is moved into place it is run with ``ai-edge-litert`` on a seeded check batch
    and must agree within :data:`TFLITE_TOLERANCE` with torch and with the ONNX model at
    ``onnx_path`` (exported to a temporary file when not given). Returns the larger of the two
    max differences. Works for any module with the ``(batch, 16, 96) -> (batch, 1)`` contract.
    """
    try:
        with _quiet_litert():
            import litert_torch
    except ImportError as exc:
        raise WakeforgeError("TFLite export needs the litert-torch converter: pip install litert-torch") from exc

    model = model.cpu().float().eval()
    check = torch.randn(TFLITE_CHECK_BATCH, N_FRAMES, EMBEDDING_DIM, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = model(check).numpy()
    with tempfile.TemporaryDirectory(prefix="wakeforge-tflite-") as scratch:
        if onnx_path is None:
            onnx_path = Path(scratch) / "check.onnx"
            export_onnx(model, onnx_path, seed=seed)
        onnx_scores = OnnxScorer(onnx_path)(check.numpy())

    with atomic_path(out_path, ".tflite") as tmp:
        try:
            with _quiet_litert(), torch.no_grad():
                edge_model = litert_torch.convert(model, (torch.zeros(1, N_FRAMES, EMBEDDING_DIM),))
                edge_model.export(tmp)
        except Exception as exc:  # the converter raises many types (export, lowering, MLIR passes)
            raise WakeforgeError(f"litert-torch could not convert {type(model).__name__} to TFLite: {_one_line(exc)}") from exc
        scorer = TfliteScorer(tmp)
        _check_io(scorer.interpreter, out_path)
        got = scorer(check.numpy())
        del scorer  # release the mapped file before the rename
        err_torch = float(np.max(np.abs(got - expected[:, 0])))
        err_onnx = float(np.max(np.abs(got - onnx_scores)))
        if not (err_torch <= TFLITE_TOLERANCE and err_onnx <= TFLITE_TOLERANCE):  # also catches NaN
            raise WakeforgeError(
                f"TFLite export of {out_path} does not match (max |tflite - torch| {err_torch:.2e}, |tflite - onnx| {err_onnx:.2e}, tolerance {TFLITE_TOLERANCE:.0e})"
            )
    log.info("TFLite %s: max |tflite - torch| = %.2e, max |tflite - onnx| = %.2e", out_path, err_torch, err_onnx)
    return max(err_torch, err_onnx)


class TfliteScorer:
    """Scores ``(n, 16, 96)`` windows with an exported TFLite model via ``ai-edge-litert``, one window at a time."""

    def __init__(self, path: str | os.PathLike, threads: int = 1):
        self.interpreter = _tflite_interpreter(path, threads)
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        scores = np.empty(len(windows), dtype=np.float32)
        for i, w in enumerate(windows):
            # The exported input is fixed at batch 1, as openWakeWord's runtime feeds it.
            self.interpreter.set_tensor(self.input_index, w[None])
            self.interpreter.invoke()
            scores[i] = self.interpreter.get_tensor(self.output_index).reshape(-1)[0]
        return scores
