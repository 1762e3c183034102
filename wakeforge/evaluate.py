"""Evaluation of an exported model on held-out data.

In: the ONNX model, features of held-out positive / adversarial / general clips (never trained
on, never used for checkpoint selection), the negative streams' embeddings (their report thirds:
the other thirds chose the checkpoint and calibrated the threshold), the threshold and the user's
targets.
A test clip is scored as a stream would score it: its highest score over the windows ending at
the phrase's end and up to ``evaluation.latency_s`` later (``recall_at_phrase_end``: the first
window alone, as training positives are cut).
Out: a metrics dict (written as ``metrics.json``): accuracy, recall, false accepts per hour,
per-set rates, counts, and whether each target is met; in the workflow at the threshold calibrated
on validation data (calibrate.py's sidecar, included under ``calibration``) and also at the
configured ``evaluation.threshold`` (under ``at_configured_threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import metrics
from .audio import SAMPLE_RATE
from .augment import SHARD_STRIDE
from .export import OnnxScorer
from .features import CHUNK_SAMPLES, EMBEDDING_SAMPLES, MODEL_FRAMES, stream_windows

# The audio one model window hears: 16 embeddings 80 ms apart, the first hearing 0.79 s, about 2 s.
HEARD_SECONDS = ((MODEL_FRAMES - 1) * CHUNK_SAMPLES + EMBEDDING_SAMPLES) / SAMPLE_RATE


@dataclass
class HeldOutScores:
    """Scores of the held-out test sets: per clip (see :func:`clip_scores`), and per 80 ms frame of
    each stream's report third; ``positive_at_end``: each positive's window at the phrase's end alone."""

    positive: np.ndarray
    adversarial: np.ndarray
    general: np.ndarray
    streams: dict[str, np.ndarray]
    positive_at_end: np.ndarray | None = None


def window_scores(scorer, features: np.ndarray) -> np.ndarray:
    """``(clips, windows)``: the score of each window of :data:`MODEL_FRAMES` frames of each clip.

    Test clips hold the frames up to ``evaluation.latency_s`` after the phrase: the first window
    ends at the phrase's end (as training positives do), later ones after it.
    """
    n_windows = max(1, features.shape[1] - MODEL_FRAMES + 1)
    return np.stack([scorer(features[:, j : j + MODEL_FRAMES]) for j in range(n_windows)], axis=1)


def clip_scores(scorer, features: np.ndarray, first_only: bool = False) -> np.ndarray:
    """Each clip's highest :func:`window_scores`: a streaming detector fires on whichever window
    reaches the threshold first. ``first_only``: the window at the phrase's end alone."""
    return scorer(features[:, :MODEL_FRAMES]) if first_only else window_scores(scorer, features).max(axis=1)


def score_sets(
    scorer: OnnxScorer,
    positive: np.ndarray,
    adversarial: np.ndarray,
    general: np.ndarray,
    stream: np.ndarray,
    extra_streams: dict[str, np.ndarray] | None = None,
) -> HeldOutScores:
    """Score every held-out set once (streams: their report thirds only)."""
    streams = {"wakeforge": stream, **(extra_streams or {})}
    positive_windows = window_scores(scorer, positive)  # scored once: best window and the phrase's end
    return HeldOutScores(
        positive=positive_windows.max(axis=1),
        adversarial=clip_scores(scorer, adversarial),
        general=clip_scores(scorer, general),
        positive_at_end=positive_windows[:, 0],
        streams={name: scorer(stream_windows(metrics.split_stream(s, MODEL_FRAMES - 1)[2])) for name, s in streams.items()},
    )


def row_engines(source: np.ndarray, shard_engines: Sequence[Sequence[str] | None]) -> np.ndarray | None:
    """The TTS engine behind each augmented row, from its ``source`` (clip index + shard *
    :data:`~wakeforge.augment.SHARD_STRIDE`) and each shard's engine list; None when a shard
    does not record its engines."""
    if any(e is None for e in shard_engines):
        return None
    shard, index = np.divmod(np.asarray(source, dtype=np.int64), SHARD_STRIDE)
    return np.array([shard_engines[s][i] for s, i in zip(shard, index)], dtype=str)


def _recall_by_group(positive_scores: np.ndarray, groups: dict[str, np.ndarray], threshold: float) -> dict:
    """``{name: {"n_clips", "recall"}}`` for each non-empty boolean mask in ``groups``."""
    return {
        name: {"n_clips": int(mask.sum()), "recall": metrics.recall(positive_scores[mask], threshold)}
        for name, mask in groups.items()
        if mask.any()
    }


def recall_by_engine(positive_scores: np.ndarray, engines: np.ndarray, threshold: float) -> dict:
    """Recall on the positives of each engine (on the test sets, held-out voices for eSpeak)."""
    return _recall_by_group(positive_scores, {str(name): engines == name for name in np.unique(engines)}, threshold)


def recall_by_snr(positive_scores: np.ndarray, snr_db: np.ndarray, threshold: float, width: float = 5.0) -> dict:
    """Recall per background SNR band of ``width`` dB (``"-5..0"``, ...) and for the positives without
    background noise (``"no background"``): how much of the misses the noisiest clips make."""
    snr_db = np.asarray(snr_db, dtype=np.float64)
    quiet = np.isnan(snr_db)
    bands = {"no background": quiet}
    if (~quiet).any():
        lows = np.floor(snr_db[~quiet] / width) * width
        for lo in np.unique(lows):
            mask = np.zeros(len(snr_db), dtype=bool)
            mask[~quiet] = lows == lo
            bands[f"{lo:g}..{lo + width:g}"] = mask
    return _recall_by_group(positive_scores, bands, threshold)


def recall_by_effect(positive_scores: np.ndarray, meta: Mapping[str, np.ndarray], threshold: float) -> dict:
    """Recall on the positives with and without each augmentation effect that the row metadata
    records (``effect_<name>`` boolean arrays, written by the augmentation): which effects cost the
    most recall. An effect that every row or no row got is left out."""
    result = {}
    for key in sorted(k for k in meta if k.startswith("effect_")):
        applied = np.asarray(meta[key], dtype=bool)
        if applied.any() and not applied.all():
            result[key.removeprefix("effect_")] = _recall_by_group(positive_scores, {"with": applied, "without": ~applied}, threshold)
    return result


def report_first_frame(n_frames: int) -> int:
    """The stream frame where the report third's first window starts (:func:`score_sets`)."""
    return metrics.third_start(n_frames, 2, MODEL_FRAMES - 1)


def false_accept_table(
    frame_scores: np.ndarray, threshold: float, refractory_s: float, first_frame: int, sentences: pd.DataFrame
) -> pd.DataFrame:
    """One row per false accept in a stream's window scores: where it is (``time_s``: seconds into
    the stream at the end of its highest-scoring window), its ``score``, and what was said in the
    ``HEARD_SECONDS`` that window heard (``said``: the sentences' texts, ``|``-separated; empty:
    background alone).

    Window ``i`` of ``frame_scores`` is the one after stream frame ``first_frame + i + 15``;
    ``sentences`` has ``start_s``, ``end_s`` and ``text`` per sentence of the stream
    (:func:`wakeforge.stream.build_stream`).
    """
    peaks = metrics.activation_peaks(frame_scores, threshold, refractory_s)
    end_s = (first_frame + peaks + MODEL_FRAMES) * metrics.FRAME_SECONDS
    starts, ends = sentences["start_s"].to_numpy(), sentences["end_s"].to_numpy()
    texts = sentences["text"].astype(str).to_numpy()
    said = [" | ".join(texts[(starts < t) & (ends > t - HEARD_SECONDS)]) for t in end_s]
    return pd.DataFrame({"time_s": np.round(end_s, 2), "score": np.asarray(frame_scores)[peaks], "said": said})


def metrics_at(scores: HeldOutScores, threshold: float, targets: dict, refractory_s: float = 1.0) -> dict:
    """The metrics dict of already scored test sets at one ``threshold``."""
    pos_scores, adv_scores, gen_scores = scores.positive, scores.adversarial, scores.general
    stream_scores = scores.streams
    per_stream = {
        name: {
            "hours": metrics.stream_hours(s),
            "false_accepts": metrics.count_activations(s, threshold, refractory_s),
            "false_accepts_per_hour": metrics.false_accepts_per_hour(s, threshold, refractory_s),
        }
        for name, s in stream_scores.items()
    }
    all_stream = np.concatenate(list(stream_scores.values()))
    negatives = np.concatenate([adv_scores, gen_scores])
    result = {
        "threshold": threshold,
        "accuracy": metrics.accuracy(pos_scores, negatives, threshold),
        "recall": metrics.recall(pos_scores, threshold),
        **({"recall_at_phrase_end": metrics.recall(scores.positive_at_end, threshold)} if scores.positive_at_end is not None else {}),
        "false_accepts_per_hour": metrics.pooled_false_accepts_per_hour(list(stream_scores.values()), threshold, refractory_s),
        "false_accepts": sum(v["false_accepts"] for v in per_stream.values()),
        "stream_hours": sum(v["hours"] for v in per_stream.values()),
        "streams": per_stream,
        "adversarial_false_positive_rate": metrics.false_positive_rate(adv_scores, threshold),
        "general_false_positive_rate": metrics.false_positive_rate(gen_scores, threshold),
        "n_positive": int(len(pos_scores)),
        "n_adversarial": int(len(adv_scores)),
        "n_general": int(len(gen_scores)),
        "score_quantiles": {
            name: [float(q) for q in np.quantile(s, [0.05, 0.5, 0.95])] if len(s) else []
            for name, s in (("positive", pos_scores), ("adversarial", adv_scores), ("general", gen_scores), ("stream", all_stream))
        },
    }
    result["targets"] = dict(targets)
    result["meets_targets"] = {
        "accuracy": bool(result["accuracy"] >= targets["accuracy"]),
        "recall": bool(result["recall"] >= targets["recall"]),
        "false_accepts_per_hour": bool(result["false_accepts_per_hour"] <= targets["false_accepts_per_hour"]),
    }
    return result


def evaluate(
    scorer: OnnxScorer,
    positive: np.ndarray,
    adversarial: np.ndarray,
    general: np.ndarray,
    stream: np.ndarray,
    threshold: float,
    targets: dict,
    refractory_s: float = 1.0,
    extra_streams: dict[str, np.ndarray] | None = None,
) -> dict:
    """Score every held-out set with the exported model and compare with the targets.

    ``extra_streams`` (full tier: openWakeWord's false-positive validation features) are negative
    streams like ``stream``: their report thirds are scored too, and false accepts per hour are
    reported per stream and pooled over all of them (hours from the frame counts).
    """
    return metrics_at(score_sets(scorer, positive, adversarial, general, stream, extra_streams), threshold, targets, refractory_s)


def evaluate_calibrated(
    scores: HeldOutScores,
    calibration: dict,
    configured_threshold: float,
    targets: dict,
    refractory_s: float = 1.0,
) -> dict:
    """Metrics at the calibrated threshold (the sidecar's), plus ``at_configured_threshold``
    (``evaluation.threshold``) and the sidecar's content under ``calibration``."""
    result = metrics_at(scores, float(calibration["threshold"]), targets, refractory_s)
    at_configured = metrics_at(scores, float(configured_threshold), targets, refractory_s)
    result["at_configured_threshold"] = {
        k: at_configured[k]
        for k in (
            "threshold",
            "accuracy",
            "recall",
            "recall_at_phrase_end",
            "false_accepts_per_hour",
            "false_accepts",
            "streams",
            "adversarial_false_positive_rate",
            "general_false_positive_rate",
            "meets_targets",
        )
        if k in at_configured
    }
    result["calibration"] = dict(calibration)
    return result
