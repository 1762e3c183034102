"""Export: a trained checkpoint -> an ONNX file openWakeWord's runtime loads as a wake word model.

In: the checkpoint written by training. Out: ``<model>.onnx`` with one input ``[1, 16, 96]``
(the last 16 embedding frames) and one output ``[1, 1]`` (the score), verified against torch
with onnxruntime before it is put in place.
"""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np
import torch

from .audio import atomic_path
from .errors import WakeforgeError
from .model import EMBEDDING_DIM, N_FRAMES

log = logging.getLogger(__name__)

EXPORT_TOLERANCE = 1e-5


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
