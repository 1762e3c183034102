"""Calibrate the threshold on validation data; write the sidecar JSON next to the model and the DET curve."""
import logging
import os
from typing import TYPE_CHECKING

import numpy as np

from wakeforge.audio import write_json
from wakeforge.calibrate import calibrate, config_hash, validation_clips
from wakeforge.cli import run_script
from wakeforge.export import OnnxScorer
from wakeforge.recordings import with_personal

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("calibrate_threshold")
    i, p = smk.input, smk.params
    # The held-out source clips that chose the checkpoint (wakeforge/train.py) and the streams'
    # calibration thirds, which it never saw.
    personal = (np.load(i.personal[0]), np.load(i.personal[1])["source"]) if i.personal else (None, None)
    sets = {
        "positive": with_personal(np.load(i.positive), np.load(i.positive_meta)["source"], *personal),
        "adversarial": (np.load(i.adversarial), np.load(i.adversarial_meta)["source"]),
    }
    held_out = {name: validation_clips(x, source, p.val_fraction, p.seed, name) for name, (x, source) in sets.items()}
    streams = {"wakeforge": np.load(i.stream)}
    if i.fp_validation:
        streams["openwakeword"] = np.load(i.fp_validation[0])
    record, curve = calibrate(
        OnnxScorer(i.onnx, threads=smk.threads),
        held_out["positive"],
        streams,
        p.fp_target,
        p.refractory_s,
        calibrate=p.calibrate,
        configured_threshold=p.threshold,
        adversarial=held_out["adversarial"],
    )
    sidecar = {"phrase": p.phrase, "model": os.path.basename(i.onnx), **record, "config_hash": config_hash(dict(p.full_config))}
    curve.to_frame().to_csv(smk.output.det, index=False)
    write_json(smk.output.sidecar, sidecar)
    log.info(
        "threshold %.4f (%s): validation recall %.3f, %.2f false accepts/h in %.2f h (target %g)",
        sidecar["threshold"], "calibrated" if p.calibrate else "configured", sidecar["validation_recall"],
        sidecar["validation_false_accepts_per_hour"], sidecar["validation_hours"], p.fp_target,
    )


run_script(main, snakemake)
