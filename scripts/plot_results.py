"""Figures for the report: DET curve, test score histograms, training curves, runtime per stage.

The runtime figure reads the benchmark files that exist when it runs (not declared inputs: that
would make this rule depend on every job, its own included). Its input metrics.json comes after
every stage of the model, so their benchmark files are all there by then.
"""
import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from wakeforge import plots
from wakeforge.cli import run_script

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    i, o, p = smk.input, smk.output, smk.params
    with open(i.metrics) as fh:
        metrics = json.load(fh)
    with open(i.sidecar) as fh:
        sidecar = json.load(fh)
    configured = metrics["at_configured_threshold"]
    plots.det_plot(
        o.det,
        {"validation": pd.read_csv(i.validation_det), "test": pd.read_csv(i.test_det)},
        {"validation": sidecar["validation_hours"], "test": metrics["stream_hours"]},
        fp_target=sidecar["target_false_accepts_per_hour"],
        points=[
            (f"threshold {sidecar['threshold']:.3g}, validation", sidecar["validation_false_accepts_per_hour"], 1 - sidecar["validation_recall"]),
            (f"threshold {metrics['threshold']:.3g}, test", metrics["false_accepts_per_hour"], 1 - metrics["recall"]),
            (f"configured {configured['threshold']:.3g}, test", configured["false_accepts_per_hour"], 1 - configured["recall"]),
        ],
    )
    scores = np.load(i.scores)
    lines = {"calibrated" if sidecar.get("calibrated") else "threshold": metrics["threshold"]}
    if configured["threshold"] != metrics["threshold"]:
        lines["configured"] = configured["threshold"]
    plots.score_histograms(o.histograms, {name: scores[name] for name in ("positive", "adversarial", "general")}, lines)
    plots.training_curves(o.training, pd.read_csv(i.history), metrics["training"].get("member_steps", metrics["training"]["best_step"]), sidecar["target_false_accepts_per_hour"])
    plots.stage_runtimes(o.runtimes, plots.runtime_table(p.benchmarks, smk.wildcards.model, set(p.phrase_rules)))


run_script(main, snakemake)
