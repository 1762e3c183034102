import numpy as np
import pytest

from wakeforge import metrics
from wakeforge.features import MODEL_FRAMES


def test_activations_merge_within_refractory():
    scores = np.zeros(1000)
    scores[[100, 101, 102, 105]] = 0.9  # one activation (gaps < 1 s = 12.5 frames)
    scores[[300, 600]] = 0.9  # two more
    assert metrics.count_activations(scores, 0.5, 1.0) == 3
    assert metrics.count_activations(scores, 0.95, 1.0) == 0
    # the frame of each activation's highest score, one per activation counted
    scores[101] = 0.97
    assert metrics.activation_peaks(scores, 0.5, 1.0).tolist() == [101, 300, 600]
    assert metrics.activation_peaks(scores, 0.95, 1.0).tolist() == [101]
    assert metrics.activation_peaks(scores, 0.99, 1.0).tolist() == []


def test_activation_peaks_one_per_counted_activation():
    rng = np.random.default_rng(0)
    scores = rng.random(5000) ** 8  # sparse high frames, some runs closer than the refractory gap
    for threshold in (0.3, 0.6, 0.9):
        for refractory in (0.0, 0.5, 1.0, 3.0):
            peaks = metrics.activation_peaks(scores, threshold, refractory)
            assert len(peaks) == metrics.count_activations(scores, threshold, refractory)
            assert np.all(scores[peaks] >= threshold)


def test_false_accepts_per_hour_uses_stream_length():
    scores = np.zeros(45000)  # 45000 frames * 80 ms = 1 hour
    scores[[10, 20000]] = 1.0
    assert metrics.false_accepts_per_hour(scores, 0.5) == pytest.approx(2.0)


def test_recall_and_accuracy():
    pos, neg = np.array([0.9, 0.4, 0.6]), np.array([0.1, 0.7])
    assert metrics.recall(pos, 0.5) == pytest.approx(2 / 3)
    assert metrics.accuracy(pos, neg, 0.5) == pytest.approx(3 / 5)
    # a score equal to the threshold is a detection, for positives and negatives alike
    assert metrics.recall(pos, 0.6) == pytest.approx(2 / 3)
    assert metrics.false_positive_rate(neg, 0.7) == pytest.approx(1 / 2)
    assert metrics.false_positive_rate(neg, 0.8) == 0.0


def test_rates_of_no_clips_are_nan():
    empty = np.zeros(0)
    assert np.isnan(metrics.recall(empty, 0.5))
    assert np.isnan(metrics.false_positive_rate(empty, 0.5))
    assert np.isnan(metrics.accuracy(empty, empty, 0.5))


def test_stream_thirds_do_not_overlap_and_cover_the_stream():
    stream = np.arange(11)
    selection, calibration, report = metrics.split_stream(stream)
    assert selection.tolist() == [0, 1, 2] and calibration.tolist() == [3, 4, 5, 6] and report.tolist() == [7, 8, 9, 10]
    # with context, the later thirds bring the frames their first windows need
    _, calibration, report = metrics.split_stream(stream, context=2)
    assert calibration.tolist() == [1, 2, 3, 4, 5, 6] and report.tolist() == [5, 6, 7, 8, 9, 10]


def test_a_third_of_15_hours_holds_5_hours_of_decisions():
    """Windows of 16 frames over the calibration or report third of a 15 h stream of embeddings:
    one decision per 80 ms of that third, so 5 h exactly (not 1.2 s less)."""
    frames = np.zeros((int(15 * 3600 / metrics.FRAME_SECONDS), 1), dtype=np.float32)
    for third in metrics.split_stream(frames, MODEL_FRAMES - 1)[1:]:
        assert metrics.stream_hours(third[MODEL_FRAMES - 1 :]) == pytest.approx(5.0, abs=1e-9)


def test_pooled_false_accepts_count_per_stream_and_sum_hours():
    a = np.zeros(45_000)  # 1 h of frames
    a[[10, 20_000]] = 1.0
    b = np.zeros(45_000)
    b[-1] = 1.0
    assert metrics.pooled_false_accepts_per_hour([a, b], 0.5) == pytest.approx(1.5)
    # An activation at the end of one stream and the start of the next are two, not one.
    c = np.zeros(10)
    c[0] = 1.0
    assert metrics.pooled_false_accepts_per_hour([b, c], 0.5) == pytest.approx(2 / ((45_010) * 0.08 / 3600))
    assert np.isnan(metrics.pooled_false_accepts_per_hour([], 0.5))
