"""Training on small synthetic feature sets: it learns, selects honestly, and is reproducible."""

import numpy as np
import pytest
import torch

from wakeforge import train as tr
from wakeforge.errors import WakeforgeError
from wakeforge.model import DNN, build_model

MODEL_CFG = {"type": "dnn", "layer_dim": 32, "n_blocks": 1}
TRAIN_CFG = {"steps": 150, "batch_size": 96, "learning_rate": 0.003, "eval_every": 50, "device": "cpu"}


def toy_data(seed=0, n=300) -> tr.TrainData:
    """Positives carry a pattern in their last frames; negatives are noise (adversarial: a weaker pattern early)."""
    rng = np.random.default_rng(seed)
    pattern = rng.standard_normal(96).astype(np.float32)
    noise = lambda k: rng.standard_normal((k, 16, 96)).astype(np.float32) * 0.5  # noqa: E731
    pos = noise(n)
    pos[:, -4:, :] += 2 * pattern
    adv = noise(n)
    adv[:, :4, :] += 2 * pattern
    return tr.TrainData(
        positive=pos,
        positive_source=np.arange(n),
        adversarial=adv,
        adversarial_source=np.arange(n),
        general=noise(8 * n),
        negative_stream=rng.standard_normal((3000, 96)).astype(np.float32) * 0.5,
        stream=rng.standard_normal((2000, 96)).astype(np.float32) * 0.5,
    )


def test_model_contract():
    model = build_model({"type": "dnn", "layer_dim": 128, "n_blocks": 2})
    assert isinstance(model, DNN)
    out = model(torch.zeros(3, 16, 96))
    assert out.shape == (3, 1) and torch.all((out >= 0) & (out <= 1))
    with pytest.raises(WakeforgeError, match="model.type"):
        build_model({"type": "transformer"})


def test_training_learns_and_records_history():
    best, history = tr.train(toy_data(), MODEL_CFG, TRAIN_CFG, threshold=0.5, fp_target=1.0, seed=1)
    assert [row["step"] for row in history] == [50, 100, 150]
    assert best["val_metrics"]["val_recall"] >= 0.9
    assert history[-1]["train_recall"] >= 0.9
    assert best["val_metrics"]["val_fp_per_hour"] <= 1.0
    model = build_model(MODEL_CFG)
    model.load_state_dict(best["state_dict"])
    data = toy_data(seed=0)
    scores = tr.predict(model, torch.as_tensor(data.general))
    assert np.mean(scores < 0.5) > 0.95


def test_train_recall_scores_training_positives_beside_the_held_out_ones():
    """train_recall is measured on training positives only (as many as are held out): a model that
    knows the training clips alone scores 1 there and 0 on the held-out clips."""
    data = toy_data(n=400)
    pos_val, adv_val = tr.validation_masks(data, {"val_fraction": 0.2}, seed=5)
    data.positive[~pos_val], data.positive[pos_val] = 1.0, -1.0  # held-out clips unlike the training ones

    class KnowsTrainingClips(torch.nn.Module):
        def forward(self, x):
            return (x.mean(dim=(1, 2)) > 0).float().unsqueeze(-1)

    sets = tr.ValidationSets.build(data, pos_val, adv_val, torch.as_tensor, seed=5)
    assert len(sets.train_positive) == pos_val.sum() > 0
    row = sets.row(KnowsTrainingClips(), 1, threshold=0.5, fp_target=1.0, refractory_s=1.0)
    assert row["train_recall"] == 1.0 and row["val_recall"] == 0.0
    assert 0.0 <= row["val_adversarial_accuracy"] <= 1.0
    # nothing held out: no training rows drawn either, and both recalls (and the adversarial
    # accuracy) are undefined
    none_held = tr.ValidationSets.build(data, np.zeros_like(pos_val), np.zeros_like(adv_val), torch.as_tensor, seed=5)
    row = none_held.row(KnowsTrainingClips(), 1, threshold=0.5, fp_target=1.0, refractory_s=1.0)
    assert len(none_held.train_positive) == 0 and np.isnan(row["train_recall"]) and np.isnan(row["val_recall"])
    assert np.isnan(row["val_adversarial_accuracy"])


def test_training_is_reproducible():
    a, _ = tr.train(toy_data(), MODEL_CFG, TRAIN_CFG, 0.5, 1.0, seed=3)
    b, _ = tr.train(toy_data(), MODEL_CFG, TRAIN_CFG, 0.5, 1.0, seed=3)
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k])


def test_holdout_groups_all_copies_of_a_source_clip():
    source = np.tile(np.arange(200), 3)  # three augmentation rounds
    mask = tr.holdout_mask(source, 0.1, seed=0, name="positive")
    held = set(source[mask])
    assert 5 <= len(held) <= 40
    assert all(mask[source == s].all() for s in held)


def test_selection_prefers_meeting_the_false_accept_target():
    rows = [
        {"val_recall": 0.99, "val_fp_per_hour": 3.0},
        {"val_recall": 0.80, "val_fp_per_hour": 0.0},
        {"val_recall": 0.70, "val_fp_per_hour": 0.0},
    ]
    assert max(rows, key=lambda r: tr.select_key(r, 0.2)) is rows[1]
    infeasible = [{"val_recall": 0.9, "val_fp_per_hour": 5.0}, {"val_recall": 0.5, "val_fp_per_hour": 1.0}]
    assert max(infeasible, key=lambda r: tr.select_key(r, 0.2)) is infeasible[1]


def test_stream_windows_match_manual_slicing():
    stream = torch.arange(20 * 96, dtype=torch.float32).reshape(20, 96)
    w = tr.stream_windows(stream)
    assert w.shape == (5, 16, 96)
    assert torch.equal(w[2], stream[2:18])


def test_missing_class_is_a_clear_error():
    data = toy_data()
    data.general = data.general[:0]
    with pytest.raises(WakeforgeError, match="n_general_samples"):
        tr.train(data, MODEL_CFG, TRAIN_CFG, 0.5, 1.0, seed=0)
    data = toy_data()
    data.negative_stream = data.negative_stream[:10]  # shorter than one 16-frame window
    with pytest.raises(WakeforgeError, match="negative_stream_hours"):
        tr.train(data, MODEL_CFG, TRAIN_CFG, 0.5, 1.0, seed=0)


def test_cuda_request_without_gpu_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(WakeforgeError, match="train.device"):
        tr.pick_device("cuda")
    assert tr.pick_device("auto").type == "cpu"


def test_label_smoothing_keeps_scores_off_the_rails():
    cfg = dict(TRAIN_CFG, label_smoothing=0.2, max_negative_weight=1.0)
    best, _ = tr.train(toy_data(), MODEL_CFG, cfg, 0.5, 1.0, seed=4)
    model = build_model(MODEL_CFG)
    model.load_state_dict(best["state_dict"])
    scores = tr.predict(model, torch.as_tensor(toy_data().positive))
    assert np.median(scores) > 0.5
    assert scores.max() < 0.97  # the smoothed target is 0.9: no saturation at 1.0


def test_dropout_is_off_in_the_exported_model():
    model = build_model({"type": "dnn", "layer_dim": 16, "n_blocks": 1, "dropout": 0.5}).eval()
    x = torch.randn(4, 16, 96)
    assert torch.equal(model(x), model(x))


def test_precomputed_pool_is_a_seeded_redrawn_subset(tmp_path):
    features = np.zeros((5000, 16, 96), np.float16)
    features[:, 0, 0], features[:, 0, 1] = np.arange(5000) % 1000, np.arange(5000) // 1000  # row id, exact in float16
    np.save(tmp_path / "acav.npy", features)
    mapped = np.load(tmp_path / "acav.npy", mmap_mode="r")
    pool = tr.PrecomputedPool(mapped, size=1000, refresh=10, seed=4, device=torch.device("cpu"))
    first = pool.at_step(1)
    assert first.shape == (1000, 16, 96) and first.dtype == torch.float32
    rows = (first[:, 0, 0] + 1000 * first[:, 0, 1]).numpy()
    assert len(np.unique(rows)) == 1000 and np.all(np.diff(rows) > 0), "distinct rows, read in file order"
    assert pool.at_step(10) is first, "no redraw before the refresh step"
    second = pool.at_step(11)
    assert not torch.equal(second, first)
    again = tr.PrecomputedPool(mapped, size=1000, refresh=10, seed=4, device=torch.device("cpu"))
    assert torch.equal(again.at_step(1), first), "same seed, same pool"
    assert tr.PrecomputedPool(mapped, size=10**6, refresh=10, seed=4, device=torch.device("cpu")).size == 5000


def test_training_with_precomputed_negatives_and_a_second_validation_stream():
    data = toy_data()
    rng = np.random.default_rng(9)
    data.precomputed = (rng.standard_normal((4000, 16, 96)) * 0.5).astype(np.float16)
    data.fp_validation = (rng.standard_normal((4500, 96)) * 0.5).astype(np.float32)
    cfg = {**TRAIN_CFG, "precomputed_pool": 1500, "precomputed_refresh": 40}
    best, history = tr.train(data, MODEL_CFG, cfg, threshold=0.5, fp_target=1.0, seed=1)
    assert best["val_metrics"]["val_recall"] >= 0.9
    assert all("val_fp_per_hour_openwakeword" in row for row in history)

    model = build_model(MODEL_CFG)
    model.load_state_dict(best["state_dict"])
    scores = tr.predict(model, torch.as_tensor(data.precomputed[:500].astype(np.float32)))
    assert np.mean(scores < 0.5) > 0.95, "precomputed windows were learnt as negatives"


def test_stream_rows_pool_streams_and_name_the_extra_ones():
    quiet, noisy = np.zeros(45_000), np.zeros(45_000)
    noisy[::1000] = 1.0  # 45 activations in an hour
    row = tr.stream_rows({"wakeforge": quiet, "openwakeword": noisy}, 0.5, 1.0)
    assert row == {"val_fp_per_hour": pytest.approx(22.5), "val_fp_per_hour_openwakeword": pytest.approx(45.0)}
    assert tr.stream_rows({"wakeforge": noisy}, 0.5, 1.0) == {"val_fp_per_hour": pytest.approx(45.0)}


def test_dropout_keeps_the_expected_value_and_is_identity_in_eval():
    from wakeforge.model import Dropout

    torch.manual_seed(0)
    layer = Dropout(0.3)
    x = torch.ones(2000, 1536)
    y = layer.train()(x)
    assert abs(float((y == 0).float().mean()) - 0.3) < 0.005
    assert abs(float(y.mean()) - 1.0) < 0.01
    assert torch.equal(layer.eval()(x), x)
    with pytest.raises(WakeforgeError, match="model.dropout"):
        Dropout(1.0)


def test_hardest_negatives_are_the_highest_scores():
    model = build_model(MODEL_CFG)
    x = torch.randn(1000, 16, 96)
    hard = tr.hardest_negatives(model, {"general": x}, top=0.05, minimum=10)["general"]
    scores = tr.predict(model, x)
    assert len(hard) == 50
    assert set(hard.tolist()) == set(np.argsort(-scores)[:50].tolist())
    assert len(tr.hardest_negatives(model, {"general": x}, top=0.001, minimum=10)["general"]) == 10


def test_hard_negative_mining_averaging_and_early_stopping():
    cfg = {**TRAIN_CFG, "steps": 400, "eval_every": 50, "hard_negative_fraction": 0.5, "average_checkpoints": 3, "patience": 2}
    best, history = tr.train(toy_data(), MODEL_CFG, cfg, threshold=0.5, fp_target=1.0, seed=1)
    assert best["val_metrics"]["val_recall"] >= 0.9
    assert best["steps_run"] == history[-1]["step"] <= 400
    assert 1 <= len(best["averaged_steps"]) <= 3 and best["step"] in best["averaged_steps"]
    # with patience, training stops once `patience` evaluations bring nothing better
    keys = [tr.select_key(r, 1.0) for r in history]
    if best["steps_run"] < 400:
        assert max(keys[-2:]) <= max(keys[:-2])


def test_moving_average_of_the_weights_is_what_is_kept():
    """train.ema_decay d: after two steps the kept weights are d * (weights after step 1) + (1 - d) *
    (weights after step 2); the first update copies (torch's AveragedModel)."""
    cfg = {**TRAIN_CFG, "max_negative_weight": 1.0, "average_checkpoints": 1}  # step 1 the same in both runs
    one, _ = tr.train(toy_data(), MODEL_CFG, {**cfg, "steps": 1, "eval_every": 1}, 0.5, 1.0, seed=2)
    two, _ = tr.train(toy_data(), MODEL_CFG, {**cfg, "steps": 2, "eval_every": 2}, 0.5, 1.0, seed=2)
    ema, history = tr.train(toy_data(), MODEL_CFG, {**cfg, "steps": 2, "eval_every": 2, "ema_decay": 0.9}, 0.5, 1.0, seed=2)
    assert [row["step"] for row in history] == [2]
    moved = False
    for k, w1 in one["state_dict"].items():
        w2 = two["state_dict"][k]
        torch.testing.assert_close(ema["state_dict"][k], 0.9 * w1 + 0.1 * w2)
        moved |= not torch.allclose(w1, w2)
    assert moved  # the two steps differ, so the average is not just either of them


def test_average_states_is_the_elementwise_mean():
    a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(7)}
    out = tr.average_states([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0])) and int(out["n"]) == 5


def test_conv_attention_model_contract_and_export(tmp_path):
    from wakeforge.export import export_onnx

    cfg = {"type": "conv_attention", "layer_dim": 32, "n_blocks": 1, "dropout": 0.1, "attention_heads": 4}
    model = build_model(cfg)
    out = model.eval()(torch.randn(3, 16, 96))
    assert out.shape == (3, 1) and torch.all((out > 0) & (out < 1))
    assert export_onnx(model, tmp_path / "ca.onnx") < 1e-5
    with pytest.raises(WakeforgeError, match="attention_heads"):
        build_model({**cfg, "layer_dim": 30})
    # the DNN ignores conv_attention-only settings
    assert isinstance(build_model({"type": "dnn", "layer_dim": 16, "n_blocks": 1, "attention_heads": 4}), DNN)


def test_conv_attention_learns():
    cfg = {**TRAIN_CFG, "steps": 200}
    best, _ = tr.train(toy_data(), {"type": "conv_attention", "layer_dim": 32, "n_blocks": 1, "attention_heads": 4}, cfg, 0.5, 1.0, seed=2)
    assert best["val_metrics"]["val_recall"] >= 0.9


def test_selection_prefers_the_best_calibrated_recall():
    rows = [
        {"val_recall": 0.99, "val_fp_per_hour": 3.0, "val_recall_at_target": 0.70, "val_meets_target": 1.0},
        {"val_recall": 0.90, "val_fp_per_hour": 6.0, "val_recall_at_target": 0.85, "val_meets_target": 1.0},
        {"val_recall": 0.95, "val_fp_per_hour": 0.0, "val_recall_at_target": 0.95, "val_meets_target": 0.0},
    ]
    assert max(rows, key=lambda r: tr.select_key(r, 0.2)) is rows[1]


def test_operating_point_at_target_matches_calibration():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0.5, 1.0, 200)
    stream = np.zeros(45_000)
    stream[[100, 5000, 9000]] = [0.6, 0.7, 0.8]  # three lone false accepts in an hour
    point = tr.operating_point_at_target(pos, [stream], fp_target=1.0, refractory_s=1.0)
    assert point["val_meets_target"] == 1.0
    assert 0.7 < point["val_threshold_at_target"] <= 0.8 + 1e-9  # one false accept left (0.8) at most
    assert point["val_recall_at_target"] == pytest.approx(np.mean(pos >= point["val_threshold_at_target"]))


def test_ensemble_members_train_from_their_own_seeds_and_score_their_mean(tmp_path):
    from wakeforge.export import OnnxScorer, export_onnx
    from wakeforge.model import Ensemble, load_checkpoint

    cfg = {**MODEL_CFG, "ensemble": 2}
    best, history = tr.train_ensemble(toy_data(), cfg, TRAIN_CFG, 0.5, 1.0, seed=3)
    single, _ = tr.train(toy_data(), MODEL_CFG, TRAIN_CFG, 0.5, 1.0, seed=3)
    assert [row["member"] for row in history] == [0, 0, 0, 1, 1, 1]
    assert len(best["member_steps"]) == 2 and len(best["member_val_metrics"]) == 2
    # member 0 is the single model of the same seed; member 1 differs
    first = {k.split(".", 2)[2]: v for k, v in best["state_dict"].items() if k.startswith("members.0.")}
    second = {k.split(".", 2)[2]: v for k, v in best["state_dict"].items() if k.startswith("members.1.")}
    assert all(torch.equal(first[k], single["state_dict"][k]) for k in single["state_dict"])
    assert not all(torch.equal(first[k], second[k]) for k in first)
    torch.save(best, tmp_path / "e.pt")
    model, _ = load_checkpoint(str(tmp_path / "e.pt"))
    assert isinstance(model, Ensemble)
    x = torch.as_tensor(toy_data(seed=1).general[:50])
    with torch.no_grad():
        expected = torch.stack([m(x) for m in model.members]).mean(0)
        assert torch.allclose(model(x), expected)
    assert best["val_metrics"]["val_recall"] >= 0.9
    # one graph with openWakeWord's shapes
    assert export_onnx(model, tmp_path / "e.onnx") < 1e-5
    assert np.allclose(OnnxScorer(tmp_path / "e.onnx")(x.numpy()), expected.numpy()[:, 0], atol=1e-5)


def test_one_member_is_plain_training():
    a, history = tr.train_ensemble(toy_data(), {**MODEL_CFG, "ensemble": 1}, TRAIN_CFG, 0.5, 1.0, seed=3)
    b, _ = tr.train(toy_data(), MODEL_CFG, TRAIN_CFG, 0.5, 1.0, seed=3)
    assert "member_steps" not in a and {row["member"] for row in history} == {0}
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in b["state_dict"])
