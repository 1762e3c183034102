"""Export to ONNX and evaluation with the exported model."""

import numpy as np
import pytest
import torch

from wakeforge import evaluate as ev
from wakeforge.export import OnnxScorer, export_onnx
from wakeforge.model import build_model, load_checkpoint


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model({"type": "dnn", "layer_dim": 16, "n_blocks": 1}).eval()
    path = tmp_path_factory.mktemp("export") / "m.onnx"
    err = export_onnx(model, path)
    return model, path, err


def test_onnx_matches_torch_with_openwakeword_shapes(exported):
    import onnx

    model, path, err = exported
    assert err < 1e-5
    graph = onnx.load(str(path)).graph
    dims = lambda v: [d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert dims(graph.input[0]) == [1, 16, 96] and dims(graph.output[0]) == [1, 1]
    x = np.random.default_rng(1).standard_normal((5, 16, 96)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.as_tensor(x)).numpy()[:, 0]
    assert np.allclose(OnnxScorer(path)(x), expected, atol=1e-5)
    assert not list(path.parent.glob("*.tmp*"))


def test_checkpoint_round_trip(tmp_path):
    model = build_model({"type": "dnn", "layer_dim": 8, "n_blocks": 0})
    torch.save({"state_dict": model.state_dict(), "model_config": {"type": "dnn", "layer_dim": 8, "n_blocks": 0}}, tmp_path / "c.pt")
    loaded, meta = load_checkpoint(str(tmp_path / "c.pt"))
    x = torch.randn(2, 16, 96)
    assert torch.equal(loaded(x), model.eval()(x))


def random_sets(seed):
    """Random positive / adversarial / general windows and a 400-frame stream."""
    rng = np.random.default_rng(seed)
    feats = lambda n: rng.standard_normal((n, 16, 96)).astype(np.float32)  # noqa: E731
    pos, adv, gen = feats(10), feats(8), feats(6)
    return pos, adv, gen, rng.standard_normal((400, 96)).astype(np.float32)


def test_evaluate_reports_metrics_and_targets(exported):
    _, path, _ = exported
    scorer = OnnxScorer(path)
    pos, adv, gen, stream = random_sets(2)
    thr = float(np.median(scorer(pos)))
    result = ev.evaluate(scorer, pos, adv, gen, stream, thr, {"accuracy": 0.0, "recall": 1.01, "false_accepts_per_hour": 1e9})
    assert result["recall"] == pytest.approx(np.mean(scorer(pos) >= thr))
    assert result["n_positive"] == 10 and result["n_adversarial"] == 8 and result["n_general"] == 6
    # only the last third of the stream is reported: 134 chunks -> 134 windows of 80 ms (the
    # first ones reach back into the calibration third for their context)
    assert result["stream_hours"] == pytest.approx(134 * 0.08 / 3600)
    assert result["meets_targets"] == {"accuracy": True, "recall": False, "false_accepts_per_hour": True}
    assert all(isinstance(v, bool) for v in result["meets_targets"].values())


def test_evaluate_reports_each_stream_and_pools_them(exported):
    _, path, _ = exported
    scorer = OnnxScorer(path)
    rng = np.random.default_rng(3)
    feats = lambda n: rng.standard_normal((n, 16, 96)).astype(np.float32)  # noqa: E731
    ours, theirs = (rng.standard_normal((n, 96)).astype(np.float32) for n in (400, 1000))
    targets = {"accuracy": 0.0, "recall": 0.0, "false_accepts_per_hour": 1e9}
    result = ev.evaluate(scorer, feats(4), feats(4), feats(4), ours, 0.0, targets, extra_streams={"openwakeword": theirs})
    streams = result["streams"]
    assert set(streams) == {"wakeforge", "openwakeword"}
    assert streams["openwakeword"]["hours"] == pytest.approx(334 * 0.08 / 3600)  # last third: 334 chunks -> 334 windows
    assert result["stream_hours"] == pytest.approx((134 + 334) * 0.08 / 3600)
    assert result["false_accepts"] == streams["wakeforge"]["false_accepts"] + streams["openwakeword"]["false_accepts"]
    assert result["false_accepts_per_hour"] == pytest.approx(result["false_accepts"] / result["stream_hours"])


def test_evaluate_calibrated_reports_both_thresholds_and_the_sidecar(exported):
    _, path, _ = exported
    scorer = OnnxScorer(path)
    pos, adv, gen, stream = random_sets(4)
    targets = {"accuracy": 0.0, "recall": 0.0, "false_accepts_per_hour": 1e9}
    scores = ev.score_sets(scorer, pos, adv, gen, stream)
    calibrated, configured = float(np.quantile(scores.positive, 0.3)), float(np.quantile(scores.positive, 0.7))
    sidecar = {"phrase": "hey saga", "threshold": calibrated, "config_hash": "0" * 64}
    result = ev.evaluate_calibrated(scores, sidecar, configured, targets)
    # top level: the calibrated threshold, identical to evaluate() at that threshold
    assert result["threshold"] == calibrated
    plain = ev.evaluate(scorer, pos, adv, gen, stream, calibrated, targets)
    assert {k: result[k] for k in plain} == plain
    at_configured = result["at_configured_threshold"]
    assert at_configured["threshold"] == configured
    assert at_configured["recall"] == pytest.approx(np.mean(scores.positive >= configured))
    assert at_configured["recall"] < result["recall"]
    assert result["calibration"] == sidecar


def test_recall_per_engine_follows_each_rows_source_clip():
    from wakeforge.augment import SHARD_STRIDE

    shard_engines = [["piper", "espeak", "piper"], ["espeak", "espeak"]]
    # rows: two augmentation rounds of shard 0's clips, then shard 1's clips
    source = np.array([0, 1, 2, 0, 1, 2, SHARD_STRIDE + 0, SHARD_STRIDE + 1])
    engines = ev.row_engines(source, shard_engines)
    assert engines.tolist() == ["piper", "espeak", "piper", "piper", "espeak", "piper", "espeak", "espeak"]
    scores = np.array([0.9, 0.2, 0.8, 0.1, 0.7, 0.95, 0.6, 0.3])
    by_engine = ev.recall_by_engine(scores, engines, 0.5)
    assert by_engine == {"espeak": {"n_clips": 4, "recall": 0.5}, "piper": {"n_clips": 4, "recall": 0.75}}
    assert ev.row_engines(source, [shard_engines[0], None]) is None


def test_recall_with_and_without_each_effect():
    scores = np.array([0.9, 0.2, 0.8, 0.1, 0.7, 0.6])
    meta = {
        "source": np.arange(6),
        "effect_rir": np.array([True, True, False, True, False, False]),
        "effect_silent": np.zeros(6, dtype=bool),  # no row: left out
        "effect_background": np.ones(6, dtype=bool),  # every row: left out
    }
    by_effect = ev.recall_by_effect(scores, meta, 0.5)
    assert by_effect == {"rir": {"with": {"n_clips": 3, "recall": 1 / 3}, "without": {"n_clips": 3, "recall": 1.0}}}
    assert ev.recall_by_effect(scores, {"source": np.arange(6)}, 0.5) == {}


def test_false_accepts_name_what_the_stream_said():
    import pandas as pd

    sentences = pd.DataFrame({"start_s": [10.0, 12.0, 40.0], "end_s": [11.5, 14.0, 42.0], "text": ["gig so", "peace also", "far away"]})
    scores = np.zeros(1000)
    first = 50  # the first window starts at stream frame 50: window i ends after frame 65 + i
    scores[[100, 101]] = [0.6, 0.9]  # ends at (50 + 101 + 16) * 0.08 = 13.36 s: hears 11.4-13.4 s
    scores[300] = 0.8  # 29.28 s: nothing said (background alone)
    scores[400] = 0.3  # under the threshold
    table = ev.false_accept_table(scores, 0.5, 1.0, first, sentences)
    assert table["time_s"].tolist() == [13.36, 29.28]
    assert table["score"].tolist() == [0.9, 0.8]
    assert table["said"].tolist() == ["gig so | peace also", ""]
    assert ev.HEARD_SECONDS == pytest.approx(1.99)
    # the report third's windows start 15 frames before its first frame (the decisions made in it)
    assert ev.report_first_frame(3000) == 2000 - 15


def test_recall_per_snr_band():
    snr = np.array([np.nan, np.nan, -4.0, -0.5, 3.0, 4.9, 12.0])
    scores = np.array([0.9, 0.8, 0.1, 0.6, 0.2, 0.7, 0.95])
    bands = ev.recall_by_snr(scores, snr, 0.5)
    assert bands == {
        "no background": {"n_clips": 2, "recall": 1.0},
        "-5..0": {"n_clips": 2, "recall": 0.5},
        "0..5": {"n_clips": 2, "recall": 0.5},
        "10..15": {"n_clips": 1, "recall": 1.0},
    }


def test_test_clips_score_their_best_window_after_the_phrase(exported):
    _, path, _ = exported
    scorer = OnnxScorer(path)
    rng = np.random.default_rng(5)
    clips = rng.standard_normal((12, 20, 96)).astype(np.float32)  # 16 frames + 4 after the phrase
    windows = np.stack([scorer(clips[:, j : j + 16]) for j in range(5)], axis=1)
    assert np.array_equal(ev.clip_scores(scorer, clips), windows.max(axis=1))
    assert np.array_equal(ev.clip_scores(scorer, clips, first_only=True), windows[:, 0])
    assert np.array_equal(ev.clip_scores(scorer, clips[:, :16]), windows[:, 0])  # training-shaped clips: one window
    _, adv, gen, stream = random_sets(6)
    scores = ev.score_sets(scorer, clips, adv, gen, stream)
    thr = float(np.median(windows[:, 0]))
    result = ev.metrics_at(scores, thr, {"accuracy": 0.0, "recall": 0.0, "false_accepts_per_hour": 1e9})
    assert result["recall"] == pytest.approx(np.mean(windows.max(axis=1) >= thr))
    assert result["recall_at_phrase_end"] == pytest.approx(np.mean(windows[:, 0] >= thr)) and result["recall_at_phrase_end"] <= result["recall"]
