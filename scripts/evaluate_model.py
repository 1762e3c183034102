"""Evaluate the exported model on held-out data; write metrics.json."""
import logging
from typing import TYPE_CHECKING

import numpy as np
import torch

from wakeforge.audio import write_json
from wakeforge.cli import run_script
from wakeforge.evaluate import evaluate
from wakeforge.export import OnnxScorer
from wakeforge.texts import contains_phrase

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    i, p = smk.input, smk.params
    general = np.load(i.general)
    texts = np.load(i.general_meta)["texts"]
    general = general[~np.array([contains_phrase(str(t), p.phrase) for t in texts], dtype=bool)]
    result = evaluate(OnnxScorer(i.onnx, threads=smk.threads), np.load(i.positive), np.load(i.adversarial), general, np.load(i.stream), p.threshold, p.targets, p.refractory_s)
    ckpt = torch.load(i.checkpoint, map_location="cpu", weights_only=False)
    result = {"phrase": p.phrase, "model": str(i.onnx), **result, "training": {"best_step": ckpt["step"], "validation": ckpt["val_metrics"], "steps_per_second": ckpt["steps_per_second"], "device": ckpt["device"]}}
    write_json(smk.output.metrics, result)
    missed = [k for k, ok in result["meets_targets"].items() if not ok]
    logging.getLogger("evaluate_model").log(
        logging.WARNING if missed else logging.INFO,
        "recall %.3f, accuracy %.3f, %.2f false accepts/h; targets missed: %s", result["recall"], result["accuracy"], result["false_accepts_per_hour"], missed or "none",
    )


run_script(main, snakemake)
