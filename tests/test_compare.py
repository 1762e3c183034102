"""Comparison with openWakeWord's pretrained model: budgets, own thresholds, best windows, per engine."""

import numpy as np
import pytest

from wakeforge import compare, metrics
from wakeforge.features import MODEL_FRAMES

FRAMES_PER_HOUR = int(3600 / metrics.FRAME_SECONDS)


def burst_stream(n: int, bursts: dict[int, float]) -> np.ndarray:
    s = np.full(n, 0.05)
    for i, v in bursts.items():
        s[i] = v
    return s


def test_summarise_known_answers():
    scores = {
        "positive": np.array([0.95, 0.8, 0.6, 0.3]),
        "adversarial": np.array([0.85, 0.1]),
        # calibration third: one false accept at 0.9; report third: one at 0.7 (an hour each)
        "streams": [burst_stream(FRAMES_PER_HOUR, {1000: 0.9}), burst_stream(FRAMES_PER_HOUR, {2000: 0.7})],
    }
    engines = np.array(["a", "a", "b", "b"])
    out = compare.summarise(scores, own_threshold=0.5, engines=engines, budgets=(0.2, 0.5, 1.0))
    assert out["stream_hours"] == pytest.approx(2.0)
    strict, one, two = out["at_budgets"]
    # 0.2 per hour over 2 h: no false accept allowed, so only the 0.95 positive passes
    assert strict["threshold"] > 0.9 and strict["recall"] == 0.25 and strict["false_accepts"] == 0
    # 0.5 per hour: one allowed (the 0.9 burst), the 0.7 burst must stay below
    assert 0.7 < one["threshold"] <= 0.8 and one["recall"] == 0.5 and one["false_accepts"] == 1
    assert one["recall_by_engine"] == {"a": 1.0, "b": 0.0}
    assert one["adversarial_false_positive_rate"] == 0.5
    # 1 per hour: both bursts allowed, every positive passes
    assert two["recall"] == 1.0 and two["false_accepts"] == 2 and two["meets_budget"]
    own = out["at_own_threshold"]  # the report third alone
    assert own["stream_hours"] == pytest.approx(1.0)
    assert own["threshold"] == 0.5 and own["recall"] == 0.75 and own["false_accepts"] == 1


def test_budget_that_cannot_be_met_is_flagged():
    # saturated stream scores (1.0) fire at every threshold, the highest included
    scores = {"positive": np.array([0.2]), "adversarial": np.array([]), "streams": [np.full(100, 1.0), np.full(100, 1.0)]}
    row = compare.summarise(scores, 0.5, None, budgets=(0.0,))["at_budgets"][0]
    assert not row["meets_budget"]
    assert "recall_by_engine" not in row


def _features(rng, n: int, signal: float, last_window_only: bool) -> np.ndarray:
    """``(n, 20, 96)`` test features; positives carry ``signal`` in frames 4..19 (the last window)
    or in every frame."""
    x = rng.normal(size=(n, MODEL_FRAMES + 4, 96)).astype(np.float32)
    x[:, 4 if last_window_only else 0 :, :8] += signal
    return x


def mean_scorer(windows: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-4 * (windows[:, :, :8].mean(axis=(1, 2)) - 0.5)))


def noise_scorer(windows: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-windows[:, 3, 50] - windows[:, 9, 60]))


def test_compare_scores_every_model_on_the_same_data():
    rng = np.random.default_rng(0)
    positive = _features(rng, 60, 1.5, last_window_only=True)
    adversarial = _features(rng, 30, 0.0, last_window_only=False)
    stream = rng.normal(size=(3 * 2000 + 30, 96)).astype(np.float32)
    engines = np.array(["x", "y"] * 30)
    figures, curves = compare.compare(
        {"mean": mean_scorer, "noise": noise_scorer}, {"mean": 0.5, "noise": 0.5}, positive, adversarial, stream, engines, budgets=(0.0, 50.0)
    )
    assert set(figures) == set(curves) == {"mean", "noise"}
    # the same numbers as scoring by hand: best window of each clip, the two later thirds of the stream
    thirds = compare.stream_thirds(stream)
    assert [len(t) for t in thirds] == [2010, 2010]  # one window per frame of each third
    by_hand = compare.summarise(compare.model_scores(mean_scorer, positive, adversarial, thirds), 0.5, engines, (0.0, 50.0))
    assert figures["mean"] == by_hand
    # the informative scorer beats the noise at every budget; the best-window rule finds the signal
    for good, bad in zip(figures["mean"]["at_budgets"], figures["noise"]["at_budgets"]):
        assert good["recall"] > bad["recall"]
    first_window = mean_scorer(positive[:, :MODEL_FRAMES])
    best = compare.model_scores(mean_scorer, positive, adversarial, thirds)["positive"]
    assert np.all(best >= first_window) and best.mean() > first_window.mean() + 0.02
    text = compare.table(figures)
    assert "mean" in text and "noise" in text and "50" in text


def test_reference_model_scores_in_range():
    """openWakeWord's own pretrained model loads through our scorer and gives probabilities."""
    from wakeforge.assets import REFERENCE_SHA256, _installed_openwakeword_models_dir
    from wakeforge.export import OnnxScorer

    installed = _installed_openwakeword_models_dir()
    if installed is None:
        pytest.skip("openwakeword is not installed")
    assert "hey_jarvis_v0.1.onnx" in REFERENCE_SHA256
    scorer = OnnxScorer(installed / "hey_jarvis_v0.1.onnx")
    s = scorer(np.random.default_rng(1).normal(size=(5, MODEL_FRAMES, 96)).astype(np.float32))
    assert s.shape == (5,) and np.all((s >= 0) & (s <= 1))
