"""Score our model and openWakeWord's pretrained model for the same phrase on the same held-out
data; write the comparison JSON and both DET curves."""
import json
import logging
from typing import TYPE_CHECKING

import numpy as np

from wakeforge import compare, plots
from wakeforge.audio import load_clip_engines, write_json
from wakeforge.cli import run_script
from wakeforge.evaluate import row_engines
from wakeforge.export import OnnxScorer

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("compare_reference")
    i, p = smk.input, smk.params
    with open(i.sidecar) as fh:
        ours_threshold = float(json.load(fh)["threshold"])
    ours, reference = f"wakeforge {smk.wildcards.model}", f"openWakeWord {p.reference}"
    meta = np.load(i.positive_meta)
    figures, curves = compare.compare(
        {ours: OnnxScorer(i.onnx, threads=smk.threads), reference: OnnxScorer(i.reference, threads=smk.threads)},
        {ours: ours_threshold, reference: compare.REFERENCE_THRESHOLD},
        np.load(i.positive),
        np.load(i.adversarial),
        np.load(i.stream),
        engines=row_engines(meta["source"], [load_clip_engines(c) for c in i.positive_clips]),
        refractory_s=p.refractory_s,
    )
    write_json(smk.output.comparison, {"phrase": p.phrase, "reference": p.reference, "method": compare.METHOD, "models": figures})
    plots.det_plot(smk.output.det, {k: c.to_frame() for k, c in curves.items()}, {k: c.hours for k, c in curves.items()}, fp_target=p.fp_target)
    log.info("recall at each false-accept budget (calibration and report thirds):\n%s", compare.table(figures))
    for label, f in figures.items():
        own = f["at_own_threshold"]
        log.info("%s at its own threshold %.4f: recall %.3f, %d false accepts in %.1f h", label, own["threshold"], own["recall"], own["false_accepts"], own["stream_hours"])


run_script(main, snakemake)
