"""Threshold calibration: the score threshold that maximises recall at the false-accept target.

In: the exported model, *validation* data (never the reported test data): the held-out slice of
the positive training source clips (the same :func:`wakeforge.train.holdout_mask` split as
training) and the calibration third of each negative validation stream, which checkpoint selection
never saw (:func:`wakeforge.metrics.split_stream`); the false-accept target per hour and the
refractory time.
Out: a DET curve (miss rate and false accepts per hour over a grid of thresholds; activations within
the refractory time count once, pooled over the streams like
:func:`wakeforge.metrics.pooled_false_accepts_per_hour`) and the chosen threshold with its
validation recall and false accepts per hour, written as a sidecar JSON next to the model
(``results/<m>/<m>.json``; openWakeWord's runtime ignores it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import numpy as np

from . import metrics
from .errors import WakeforgeError
from .features import MODEL_FRAMES, stream_windows

log = logging.getLogger(__name__)

METHOD = "highest validation recall with false accepts per hour <= target at this and every higher threshold"


def default_thresholds() -> np.ndarray:
    """0, 0.001, ..., 1, refined towards 1 (where a sharp model's scores crowd), sorted and unique."""
    coarse = np.linspace(0.0, 1.0, 1001)
    near_one = 1.0 - np.logspace(-6, -3, 31)
    return np.unique(np.round(np.concatenate([coarse, near_one]), 9))


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of the validated config (sorted keys, no whitespace)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class DetCurve:
    """Recall, miss rate and false accepts (per hour) at each threshold."""

    thresholds: np.ndarray
    recall: np.ndarray
    false_accepts: np.ndarray  # activations, summed over the streams
    hours: float  # stream hours, summed over the streams

    @property
    def miss_rate(self) -> np.ndarray:
        return 1.0 - self.recall

    @property
    def false_accepts_per_hour(self) -> np.ndarray:
        if self.hours <= 0:
            return np.full(len(self.thresholds), np.nan)
        return self.false_accepts / self.hours

    @property
    def worst_false_accepts_per_hour(self) -> np.ndarray:
        """The most false accepts per hour at this threshold or any higher one.

        Merging activations within the refractory time makes raw counts non-monotone: at very low
        thresholds every frame fires and the whole stream becomes one long activation. A threshold
        counts as meeting the target only if every higher one does too, and the DET plot draws this
        envelope, so that degenerate region never looks (or is chosen as) good.
        """
        fa = np.nan_to_num(self.false_accepts_per_hour, nan=np.inf)
        return np.maximum.accumulate(fa[::-1])[::-1]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "threshold": self.thresholds,
                "recall": self.recall,
                "miss_rate": self.miss_rate,
                "false_accepts": self.false_accepts,
                "false_accepts_per_hour": self.false_accepts_per_hour,
                "worst_false_accepts_per_hour": self.worst_false_accepts_per_hour,
            }
        )


def det_curve(
    positive_scores: np.ndarray,
    stream_scores: list[np.ndarray],
    refractory_s: float = 1.0,
    thresholds: np.ndarray | None = None,
) -> DetCurve:
    """Recall of ``positive_scores`` and activations in the ``stream_scores`` (per-frame scores of
    separate negative streams, counted per stream as :func:`metrics.count_activations` does) at
    each threshold (sorted ascending)."""
    thresholds = default_thresholds() if thresholds is None else np.unique(np.asarray(thresholds, dtype=float))
    positive_scores = np.sort(np.asarray(positive_scores, dtype=float))
    if len(positive_scores):
        # fraction of positives >= t, by binary search
        n = len(positive_scores)
        recall = (n - np.searchsorted(positive_scores, thresholds, side="left")) / n
    else:
        recall = np.full(len(thresholds), np.nan)
    false_accepts = np.zeros(len(thresholds), dtype=np.int64)
    for s in stream_scores:
        s = np.asarray(s)
        if len(s) == 0:
            continue
        top = float(s.max())
        for k, t in enumerate(thresholds):
            if t > top:
                break  # thresholds ascend: nothing fires from here on
            false_accepts[k] += metrics.count_activations(s, t, refractory_s)
    hours = sum(metrics.stream_hours(s) for s in stream_scores)
    return DetCurve(thresholds, recall, false_accepts, hours)


def choose_threshold(curve: DetCurve, fp_target: float) -> dict:
    """The threshold with the highest recall whose false accepts per hour are <= ``fp_target``, at it
    and at every higher threshold (:attr:`DetCurve.worst_false_accepts_per_hour`); ties: fewest
    false accepts, then the middle of the tied thresholds, which keeps a margin from both the
    positives and the negatives. If no threshold meets the target: the one with the fewest false
    accepts (then the highest recall), with ``meets_target`` False.
    """
    fa = curve.false_accepts_per_hour
    worst = curve.worst_false_accepts_per_hour
    recall = np.nan_to_num(curve.recall, nan=0.0)
    feasible = np.flatnonzero(worst <= fp_target)
    meets = len(feasible) > 0
    if meets:
        best = feasible[recall[feasible] == recall[feasible].max()]
        best = best[worst[best] == worst[best].min()]
    else:
        best = np.flatnonzero(worst == worst.min())
        best = best[recall[best] == recall[best].max()]
    k = int(best[len(best) // 2])
    return {
        "threshold": float(curve.thresholds[k]),
        "recall": float(curve.recall[k]),
        "false_accepts": int(curve.false_accepts[k]),
        "false_accepts_per_hour": float(fa[k]),
        "meets_target": bool(meets),
    }


def operating_point(curve: DetCurve, threshold: float, positive_scores: np.ndarray, stream_scores: list[np.ndarray], refractory_s: float) -> dict:
    """Recall and false accepts at an arbitrary ``threshold`` (not necessarily on the grid)."""
    n_fa = sum(metrics.count_activations(s, threshold, refractory_s) for s in stream_scores)
    return {
        "threshold": float(threshold),
        "recall": metrics.recall(positive_scores, threshold),
        "false_accepts": int(n_fa),
        "false_accepts_per_hour": n_fa / curve.hours if curve.hours > 0 else float("nan"),
    }


def validation_clips(features: np.ndarray, source: np.ndarray, fraction: float, seed: int, name: str) -> np.ndarray:
    """The rows of a training set that checkpoint selection holds out: the same source-clip split as
    :func:`wakeforge.train.train` (``name`` is ``"positive"`` or ``"adversarial"``)."""
    from .train import holdout_mask

    return np.asarray(features)[holdout_mask(np.asarray(source), fraction, seed, name)]


def validation_stream_scores(scorer, streams: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-frame scores of the calibration third of each negative validation stream."""
    return {name: scorer(stream_windows(metrics.split_stream(s, MODEL_FRAMES - 1)[1])) for name, s in streams.items()}


def calibrate(
    scorer,
    positive: np.ndarray,
    streams: dict[str, np.ndarray],
    fp_target: float,
    refractory_s: float = 1.0,
    calibrate: bool = True,
    configured_threshold: float = 0.5,
    adversarial: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
) -> tuple[dict, DetCurve]:
    """Score the validation data with ``scorer`` and pick the threshold.

    Args:
        scorer: ``(n, 16, 96)`` windows -> scores (e.g. :class:`wakeforge.export.OnnxScorer`).
        positive: held-out positive validation features ``(n, 16, 96)``.
        streams: negative validation streams by name, ``(n_chunks, 96)`` embeddings each; only
            their calibration thirds are scored.
        fp_target: false accepts per hour the threshold must not exceed.
        calibrate: False keeps ``configured_threshold`` (still reporting its validation numbers).
        adversarial: held-out adversarial validation features, for their false-positive rate.

    Returns:
        (the calibration record, the DET curve).
    """
    if len(positive) == 0:
        raise WakeforgeError("no held-out positive validation clips to calibrate on: increase config key n_samples or train.val_fraction")
    pos_scores = scorer(positive)
    stream_scores = validation_stream_scores(scorer, streams)
    curve = det_curve(pos_scores, list(stream_scores.values()), refractory_s, thresholds)
    if calibrate:
        chosen = choose_threshold(curve, fp_target)
    else:
        chosen = operating_point(curve, configured_threshold, pos_scores, list(stream_scores.values()), refractory_s)
        chosen["meets_target"] = bool(chosen["false_accepts_per_hour"] <= fp_target)
    thr = chosen["threshold"]
    record = {
        "threshold": thr,
        "calibrated": bool(calibrate),
        "method": METHOD if calibrate else "evaluation.threshold (evaluation.calibrate is false)",
        "configured_threshold": float(configured_threshold),
        "target_false_accepts_per_hour": float(fp_target),
        "meets_target": chosen["meets_target"],
        "refractory_seconds": float(refractory_s),
        "validation_recall": chosen["recall"],
        "validation_false_accepts": chosen["false_accepts"],
        "validation_false_accepts_per_hour": chosen["false_accepts_per_hour"],
        "validation_hours": curve.hours,
        "validation_positives": int(len(pos_scores)),
        "validation_streams": {
            name: {"hours": metrics.stream_hours(s), "false_accepts": metrics.count_activations(s, thr, refractory_s)}
            for name, s in stream_scores.items()
        },
    }
    if adversarial is not None and len(adversarial):
        record["validation_adversarial_false_positive_rate"] = metrics.false_positive_rate(scorer(adversarial), thr)
    if calibrate and not chosen["meets_target"]:
        if curve.hours <= 0:
            record["warning"] = "the validation streams are too short to count false accepts; threshold chosen on recall alone"
        else:
            record["warning"] = (
                f"no threshold reaches {fp_target:g} false accepts per hour on the validation data; "
                f"using the one with the fewest ({chosen['false_accepts_per_hour']:.3g} per hour)"
            )
        log.warning(record["warning"])
    return record, curve
