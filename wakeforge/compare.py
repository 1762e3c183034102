"""A trained model against openWakeWord's own pretrained model for the same phrase, on the same
held-out data.

openWakeWord ships pretrained models for a few phrases ("alexa", "hey jarvis", "hey mycroft",
"hey rhasspy"; :data:`wakeforge.assets.REFERENCE_MODELS`), trained with its full recipe (hundreds
of LibriTTS-R speakers, 2000 h of ACAV100M negatives). For those phrases this module scores both
models on this workflow's held-out test positives and adversarial clips and on the validation
stream, so a user sees what the embedded default gives against openWakeWord's own model.

In: scorers (``(n, 16, 96)`` windows -> scores) by label, the held-out test features (``(n, 20, 96)``:
each clip's windows from the phrase's end to ``evaluation.latency_s`` later, scored best-of as in
:mod:`wakeforge.evaluate`), the engine of each test positive, the validation stream's embeddings,
and each model's own threshold (ours: the calibrated one; openWakeWord's: 0.5, its default).
Out: per model, recall (overall and per engine) and the adversarial false-positive rate at the
lowest threshold whose false accepts per hour stay within each budget, over the calibration and
report thirds together (neither model chose anything on the first third's audio); and recall with
false accepts per hour at its own threshold, on the report third alone (as ``metrics.json``).

The budget rows choose each model's threshold on the audio they are reported on, for both models
alike: they compare the models' DET curves, not thresholds a user could deploy.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from . import metrics
from .calibrate import choose_threshold, det_curve
from .evaluate import clip_scores, recall_by_engine
from .features import MODEL_FRAMES, stream_windows

BUDGETS = (0.2, 0.5, 1.0, 2.0, 5.0)
# openWakeWord's default threshold: its models are used at 0.5 unless told otherwise
REFERENCE_THRESHOLD = 0.5
METHOD = (
    "at_budgets: recall at the lowest threshold whose false accepts per hour over the validation stream's calibration and "
    "report thirds stay within the budget there and at every higher threshold (chosen on the audio it is scored on, for "
    "each model alike); at_own_threshold: the model's own threshold, on the report third alone"
)

Scorer = Callable[[np.ndarray], np.ndarray]


def stream_thirds(stream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window stacks of the validation stream's calibration and report thirds (each with its 15
    frames of context, so each scores one window per frame of its own audio)."""
    _, calibration, report = metrics.split_stream(stream, MODEL_FRAMES - 1)
    return stream_windows(calibration), stream_windows(report)


def model_scores(scorer: Scorer, positive: np.ndarray, adversarial: np.ndarray, thirds: tuple[np.ndarray, np.ndarray]) -> dict:
    """Best-window scores of the test clips and per-frame scores of both stream thirds."""
    return {
        "positive": clip_scores(scorer, positive),
        "adversarial": clip_scores(scorer, adversarial),
        "streams": [scorer(t) for t in thirds],
    }


def summarise(
    scores: Mapping,
    own_threshold: float,
    engines: np.ndarray | None,
    budgets=BUDGETS,
    refractory_s: float = 1.0,
) -> dict:
    """One model's figures from :func:`model_scores`: recall at each false-accept budget (both
    thirds) and at its own threshold (report third)."""
    pos, adv, streams = scores["positive"], scores["adversarial"], scores["streams"]
    curve = det_curve(pos, streams, refractory_s)

    def at(threshold: float, stream_list: list[np.ndarray]) -> dict:
        row = {
            "threshold": float(threshold),
            "recall": metrics.recall(pos, threshold),
            "false_accepts": int(sum(metrics.count_activations(s, threshold, refractory_s) for s in stream_list)),
            "false_accepts_per_hour": metrics.pooled_false_accepts_per_hour(stream_list, threshold, refractory_s),
            "adversarial_false_positive_rate": metrics.false_positive_rate(adv, threshold),
        }
        if engines is not None:
            row["recall_by_engine"] = {k: v["recall"] for k, v in recall_by_engine(pos, engines, threshold).items()}
        return row

    by_budget = []
    for budget in budgets:
        chosen = choose_threshold(curve, budget)
        by_budget.append({"budget_per_hour": float(budget), "meets_budget": chosen["meets_target"], **at(chosen["threshold"], streams)})
    return {
        "stream_hours": curve.hours,
        "at_budgets": by_budget,
        "at_own_threshold": {"stream_hours": metrics.stream_hours(streams[1]), **at(own_threshold, streams[1:])},
    }


def compare(
    scorers: Mapping[str, Scorer],
    own_thresholds: Mapping[str, float],
    positive: np.ndarray,
    adversarial: np.ndarray,
    stream: np.ndarray,
    engines: np.ndarray | None = None,
    budgets=BUDGETS,
    refractory_s: float = 1.0,
) -> tuple[dict, dict]:
    """Score and summarise every model on the same data; returns (figures by label, DET curves by label)."""
    thirds = stream_thirds(stream)
    figures, curves = {}, {}
    for label, scorer in scorers.items():
        scores = model_scores(scorer, positive, adversarial, thirds)
        figures[label] = summarise(scores, own_thresholds[label], engines, budgets, refractory_s)
        curves[label] = det_curve(scores["positive"], scores["streams"], refractory_s)
    return figures, curves


def table(figures: Mapping[str, dict]) -> str:
    """A plain-text table: recall at each budget, one column per model."""
    labels = list(figures)
    lines = ["false accepts/h <= " + " | ".join(f"{label:>24}" for label in labels)]
    budgets = [row["budget_per_hour"] for row in next(iter(figures.values()))["at_budgets"]]
    for k, budget in enumerate(budgets):
        cells = []
        for label in labels:
            row = figures[label]["at_budgets"][k]
            cells.append(f"{row['recall']:.3f} at {row['threshold']:.4f}" + ("" if row["meets_budget"] else " (over)"))
        lines.append(f"{budget:>18g} " + " | ".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)
