"""Evaluate the exported model on held-out data; write metrics.json."""
import logging
from typing import TYPE_CHECKING

import numpy as np

from wakeforge.audio import write_json
from wakeforge.cli import run_script
from wakeforge.evaluate import evaluate
from wakeforge.export import OnnxScorer
from wakeforge.model import load_checkpoint
from wakeforge.texts import drop_phrase

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("evaluate_model")
    i, p = smk.input, smk.params
    general, n_dropped = drop_phrase(np.load(i.general), np.load(i.general_meta)["texts"], p.phrase)
    if n_dropped:
        log.warning("dropped %d general negative clips that contain the phrase", n_dropped)
    extra = {"openwakeword": np.load(i.fp_validation[0])} if i.fp_validation else None
    result = evaluate(OnnxScorer(i.onnx, threads=smk.threads), np.load(i.positive), np.load(i.adversarial), general, np.load(i.stream), p.threshold, p.targets, p.refractory_s, extra)
    _, ckpt = load_checkpoint(i.checkpoint)
    result = {"phrase": p.phrase, "model": str(i.onnx), **result, "training": {"best_step": ckpt["step"], "validation": ckpt["val_metrics"], "steps_per_second": ckpt["steps_per_second"], "device": ckpt["device"]}}
    write_json(smk.output.metrics, result)
    missed = [k for k, ok in result["meets_targets"].items() if not ok]
    log.log(
        logging.WARNING if missed else logging.INFO,
        "recall %.3f, accuracy %.3f, %.2f false accepts/h; targets missed: %s", result["recall"], result["accuracy"], result["false_accepts_per_hour"], missed or "none",
    )


run_script(main, snakemake)
