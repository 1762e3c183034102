"""Evaluate the exported model on held-out data at the calibrated threshold; write metrics.json, test scores and the test DET curve."""
import json
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from wakeforge import metrics
from wakeforge.audio import load_clip_engines, save_npz, write_json
from wakeforge.calibrate import det_curve
from wakeforge.cli import run_script
from wakeforge.evaluate import (
    clip_scores,
    evaluate_calibrated,
    false_accept_table,
    recall_by_effect,
    recall_by_engine,
    recall_by_snr,
    report_first_frame,
    row_engines,
    score_sets,
)
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
    scorer = OnnxScorer(i.onnx, threads=smk.threads)
    stream = np.load(i.stream)
    scores = score_sets(scorer, np.load(i.positive), np.load(i.adversarial), general, stream, extra)
    with open(i.sidecar) as fh:
        calibration = json.load(fh)
    result = evaluate_calibrated(scores, calibration, p.threshold, p.targets, p.refractory_s)
    positive_meta = np.load(i.positive_meta)
    if "snr_db" in positive_meta.files:  # recall per background SNR band
        result["recall_by_snr"] = recall_by_snr(scores.positive, positive_meta["snr_db"], result["threshold"])
    by_effect = recall_by_effect(scores.positive, positive_meta, result["threshold"])
    if by_effect:  # recall with and without each augmentation effect
        result["recall_by_effect"] = by_effect
        for name, r in by_effect.items():
            log.info("recall with %s: %.3f (%d clips), without: %.3f", name, r["with"]["recall"], r["with"]["n_clips"], r["without"]["recall"])
    engines = row_engines(positive_meta["source"], [load_clip_engines(c) for c in i.positive_clips])
    if engines is not None:  # recall per voice source: Piper voices, eSpeak's held-out variants
        result["recall_by_engine"] = recall_by_engine(scores.positive, engines, result["threshold"])
        result["at_configured_threshold"]["recall_by_engine"] = recall_by_engine(scores.positive, engines, p.threshold)
        for name, r in result["recall_by_engine"].items():
            log.info("recall on %s positives: %.3f (%d clips)", name, r["recall"], r["n_clips"])
    if i.personal:  # the user's held-out recordings, reported on their own
        personal = clip_scores(scorer, np.load(i.personal[0]))
        result["personal"] = {"n_clips": int(len(personal)), "recall": metrics.recall(personal, result["threshold"])}
        log.info("personal recordings: recall %.3f on %d held-out clips", result["personal"]["recall"], len(personal))
    _, ckpt = load_checkpoint(i.checkpoint)
    result = {"phrase": p.phrase, "model": str(i.onnx), **result, "training": {"best_step": ckpt["step"], **({"member_steps": ckpt["member_steps"]} if "member_steps" in ckpt else {}), "validation": ckpt["val_metrics"], "steps_per_second": ckpt["steps_per_second"], "device": ckpt["device"]}}
    save_npz(smk.output.scores, positive=scores.positive, adversarial=scores.adversarial, general=scores.general)
    det_curve(scores.positive, list(scores.streams.values()), p.refractory_s).to_frame().to_csv(smk.output.det, index=False)
    heard = false_accept_table(
        scores.streams["wakeforge"], result["threshold"], p.refractory_s, report_first_frame(len(stream)), pd.read_csv(i.sentences, sep="\t", keep_default_na=False)
    )
    heard.to_csv(smk.output.false_accepts, sep="\t", index=False, float_format="%.4f")
    for row in heard.sort_values("score", ascending=False).head(10).itertuples():
        log.info("false accept at %.1f s (score %.3f) hearing: %s", row.time_s, row.score, row.said or "background alone")
    write_json(smk.output.metrics, result)
    missed = [k for k, ok in result["meets_targets"].items() if not ok]
    log.log(
        logging.WARNING if missed else logging.INFO,
        "threshold %.4f: recall %.3f, accuracy %.3f, %.2f false accepts/h; targets missed: %s",
        result["threshold"], result["recall"], result["accuracy"], result["false_accepts_per_hour"], missed or "none",
    )


run_script(main, snakemake)
