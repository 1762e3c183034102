"""Threshold calibration: DET curve, threshold choice, config hash, and the validation split."""

import copy

import numpy as np
import pytest

from wakeforge import calibrate as cal
from wakeforge import metrics
from wakeforge.train import holdout_mask

FRAMES_PER_HOUR = 3600 / metrics.FRAME_SECONDS  # 45,000


def stream_with_bursts(n_frames: int, bursts: dict[int, float], background: float = 0.05) -> np.ndarray:
    """Frame scores at ``background`` with a single-frame burst of score v at each index."""
    s = np.full(n_frames, background)
    for i, v in bursts.items():
        s[i] = v
    return s


def test_det_curve_known_answers():
    positives = np.array([0.2, 0.6, 0.7, 0.9])
    # one hour of frames, bursts far apart (separate activations): two at 0.5, one at 0.8
    stream = stream_with_bursts(int(FRAMES_PER_HOUR), {1000: 0.5, 5000: 0.5, 9000: 0.8})
    curve = cal.det_curve(positives, [stream], refractory_s=1.0, thresholds=[0.0, 0.3, 0.55, 0.65, 0.85, 0.95])
    assert curve.hours == pytest.approx(1.0)
    assert curve.recall.tolist() == [1.0, 0.75, 0.75, 0.5, 0.25, 0.0]
    assert curve.miss_rate.tolist() == [0.0, 0.25, 0.25, 0.5, 0.75, 1.0]
    # threshold 0: every frame fires, one long activation
    assert curve.false_accepts.tolist() == [1, 3, 1, 1, 0, 0]
    assert curve.false_accepts_per_hour.tolist() == pytest.approx([1, 3, 1, 1, 0, 0])


def test_det_curve_matches_metrics_module():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0.3, 1.0, 50)
    streams = [rng.beta(1, 20, 3000), rng.beta(1, 15, 5000)]
    thresholds = np.linspace(0, 1, 41)
    curve = cal.det_curve(pos, streams, refractory_s=0.5, thresholds=thresholds)
    for k, t in enumerate(thresholds):
        assert curve.recall[k] == metrics.recall(pos, t)
        assert curve.false_accepts_per_hour[k] == pytest.approx(metrics.pooled_false_accepts_per_hour(streams, t, 0.5))


def test_refractory_merges_close_frames():
    stream = stream_with_bursts(1000, {100: 0.9, 105: 0.9, 500: 0.9})  # 5 frames = 0.4 s apart
    assert cal.det_curve([1.0], [stream], 1.0, [0.5]).false_accepts.tolist() == [2]
    assert cal.det_curve([1.0], [stream], 0.0, [0.5]).false_accepts.tolist() == [3]


def test_choose_threshold_meets_target_and_maximises_recall():
    rng = np.random.default_rng(1)
    pos = rng.uniform(0.4, 1.0, 200)
    streams = [rng.beta(1, 8, 20_000), rng.beta(1, 10, 20_000)]
    curve = cal.det_curve(pos, streams, refractory_s=1.0)
    target = 5.0
    chosen = cal.choose_threshold(curve, target)
    assert chosen["meets_target"]
    assert chosen["false_accepts_per_hour"] <= target
    # feasible: at or below the target at this threshold and every higher one
    feasible = np.array([curve.false_accepts_per_hour[k:].max() <= target for k in range(len(curve.thresholds))])
    assert chosen["recall"] == curve.recall[feasible].max()
    assert curve.false_accepts_per_hour[curve.thresholds >= chosen["threshold"]].max() <= target
    # the reported numbers are those of the threshold itself
    assert chosen["recall"] == metrics.recall(pos, chosen["threshold"])
    assert chosen["false_accepts_per_hour"] == pytest.approx(metrics.pooled_false_accepts_per_hour(streams, chosen["threshold"], 1.0))


def test_low_thresholds_where_the_stream_merges_into_one_activation_are_not_chosen():
    # bursts every 2 s: above 0.5, many activations; at threshold 0 the whole hour is one activation
    stream = np.full(int(FRAMES_PER_HOUR), 0.01)
    stream[::25] = 0.6
    curve = cal.det_curve(np.array([0.3, 0.9]), [stream], thresholds=[0.0, 0.5, 0.95])
    assert curve.false_accepts.tolist() == [1, 1800, 0]
    assert curve.worst_false_accepts_per_hour.tolist() == pytest.approx([1800, 1800, 0])
    chosen = cal.choose_threshold(curve, 2.0)  # raw: threshold 0 has 1 per hour and recall 1
    assert chosen["threshold"] == 0.95 and chosen["meets_target"]


def test_choose_threshold_ties_take_the_middle():
    # positives at 0.9, negatives never above 0.3: every threshold in (0.3, 0.9] is perfect
    stream = np.full(int(FRAMES_PER_HOUR), 0.3)
    curve = cal.det_curve(np.full(10, 0.9), [stream], thresholds=np.linspace(0, 1, 101))
    chosen = cal.choose_threshold(curve, 0.0)
    assert chosen["recall"] == 1.0 and chosen["false_accepts"] == 0
    assert 0.55 <= chosen["threshold"] <= 0.65


def test_choose_threshold_when_none_meets_the_target():
    # every threshold up to 0.99 fires at least twice; a score-1.0 burst fires even at threshold 1
    stream = stream_with_bursts(int(FRAMES_PER_HOUR), {100: 1.0, 2000: 1.0, 4000: 0.7})
    curve = cal.det_curve(np.array([0.5, 0.8, 1.0]), [stream], thresholds=[0.5, 0.75, 1.0])
    chosen = cal.choose_threshold(curve, 1.0)
    assert not chosen["meets_target"]
    assert chosen["false_accepts"] == 2 and chosen["false_accepts_per_hour"] == pytest.approx(2.0)
    assert chosen["threshold"] == 0.75  # fewest false accepts (2 at 0.75 and 1.0), then highest recall


def test_calibrate_record_and_warning(caplog):
    scorer = lambda x: np.asarray(x)[:, -1, 0].astype(np.float32)  # noqa: E731  score = a feature
    pos = np.zeros((20, 16, 96), np.float32)
    pos[:, -1, 0] = np.linspace(0.5, 1.0, 20)
    stream = np.ones((3 * 2000, 96), np.float32)  # only the middle third is validation:
    stream[2000:4000, 0] = 0.0  # the selection and report thirds (all 1.0) must not be scored here
    stream[2000:4000:400, 0] = 0.6  # 5 activations in the calibration third
    record, curve = cal.calibrate(scorer, pos, {"wakeforge": stream}, fp_target=1e9)
    assert record["calibrated"] and record["meets_target"]
    assert record["validation_recall"] == 1.0  # target loose: lowest thresholds allowed
    # one decision per frame of the third (its first windows reach back into the selection third)
    assert record["validation_hours"] == pytest.approx(2000 * metrics.FRAME_SECONDS / 3600)
    assert set(record["validation_streams"]) == {"wakeforge"}

    record, _ = cal.calibrate(scorer, pos, {"wakeforge": stream}, fp_target=0.0)
    assert record["meets_target"] and record["validation_false_accepts"] == 0
    assert record["threshold"] > 0.6
    assert "warning" not in record

    stream[2000:4000, 0] = 1.0
    with caplog.at_level("WARNING"):
        record, _ = cal.calibrate(scorer, pos, {"wakeforge": stream}, fp_target=0.0)
    assert not record["meets_target"] and "warning" in record
    assert "false accepts per hour" in caplog.text

    record, _ = cal.calibrate(scorer, pos, {"wakeforge": stream}, fp_target=0.0, calibrate=False, configured_threshold=0.75)
    assert record["threshold"] == 0.75 and not record["calibrated"]
    assert record["validation_recall"] == metrics.recall(np.linspace(0.5, 1.0, 20), 0.75)


def test_config_hash_is_stable_and_changes_with_the_config():
    config = {"target_phrase": "hey saga", "train": {"steps": 300, "batch_fractions": {"a": 0.5, "b": 0.5}}, "background_dirs": []}
    reordered = {"background_dirs": [], "train": {"batch_fractions": {"b": 0.5, "a": 0.5}, "steps": 300}, "target_phrase": "hey saga"}
    h = cal.config_hash(config)
    assert len(h) == 64 and int(h, 16) >= 0
    assert cal.config_hash(reordered) == h == cal.config_hash(copy.deepcopy(config))
    changed = copy.deepcopy(config)
    changed["train"]["steps"] = 301
    assert cal.config_hash(changed) != h
    assert cal.config_hash({**config, "target_phrase": "hey eris"}) != h


def test_validation_clips_are_the_training_holdout():
    source = np.repeat(np.arange(200), 3)  # three augmented copies of each source clip
    features = np.arange(len(source))[:, None, None] * np.ones((1, 16, 96))
    held = cal.validation_clips(features, source, 0.1, 7, "positive")
    mask = holdout_mask(source, 0.1, 7, "positive")
    assert np.array_equal(held, features[mask])
    assert 0 < len(held) < len(features)
    # all copies of a source clip go together
    kept_sources = set(source[mask])
    assert all((s in kept_sources) == m for s, m in zip(source, mask))
