"""Evaluation of an exported model on held-out data.

In: the ONNX model, features of held-out positive / adversarial / general clips (never trained
on, never used for checkpoint selection), the negative stream's embeddings (its second half:
the first half chose the checkpoint), the threshold and the user's targets.
Out: a metrics dict (written as ``metrics.json``): accuracy, recall, false accepts per hour,
per-set rates, counts, and whether each target is met.
"""

from __future__ import annotations

import numpy as np

from . import metrics
from .export import OnnxScorer
from .features import stream_windows


def evaluate(
    scorer: OnnxScorer,
    positive: np.ndarray,
    adversarial: np.ndarray,
    general: np.ndarray,
    stream: np.ndarray,
    threshold: float,
    targets: dict,
    refractory_s: float = 1.0,
) -> dict:
    """Score every held-out set with the exported model and compare with the targets."""
    _, eval_stream = metrics.split_stream(stream)
    pos_scores = scorer(positive)
    adv_scores = scorer(adversarial)
    gen_scores = scorer(general)
    stream_scores = scorer(stream_windows(eval_stream))
    negatives = np.concatenate([adv_scores, gen_scores])
    result = {
        "threshold": threshold,
        "accuracy": metrics.accuracy(pos_scores, negatives, threshold),
        "recall": metrics.recall(pos_scores, threshold),
        "false_accepts_per_hour": metrics.false_accepts_per_hour(stream_scores, threshold, refractory_s),
        "false_accepts": metrics.count_activations(stream_scores, threshold, refractory_s),
        "stream_hours": len(stream_scores) * metrics.FRAME_SECONDS / 3600,
        "adversarial_false_positive_rate": float(np.mean(adv_scores >= threshold)) if len(adv_scores) else float("nan"),
        "general_false_positive_rate": float(np.mean(gen_scores >= threshold)) if len(gen_scores) else float("nan"),
        "n_positive": int(len(pos_scores)),
        "n_adversarial": int(len(adv_scores)),
        "n_general": int(len(gen_scores)),
        "score_quantiles": {
            name: [float(q) for q in np.quantile(s, [0.05, 0.5, 0.95])] if len(s) else []
            for name, s in (("positive", pos_scores), ("adversarial", adv_scores), ("general", gen_scores), ("stream", stream_scores))
        },
    }
    result["targets"] = dict(targets)
    result["meets_targets"] = {
        "accuracy": bool(result["accuracy"] >= targets["accuracy"]),
        "recall": bool(result["recall"] >= targets["recall"]),
        "false_accepts_per_hour": bool(result["false_accepts_per_hour"] <= targets["false_accepts_per_hour"]),
    }
    return result
