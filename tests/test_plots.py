"""Report figures: each writes a non-empty PNG; the runtime table keeps this phrase's jobs only."""

import numpy as np
import pandas as pd
import pytest

from wakeforge import plots
from wakeforge.calibrate import det_curve

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 2000, path
    assert not list(path.parent.glob("*.tmp*"))


def test_det_plot(tmp_path):
    rng = np.random.default_rng(0)
    curves = {
        name: det_curve(rng.uniform(0.3, 1, 40), [rng.beta(1, 10, 5000)], thresholds=np.linspace(0, 1, 101)).to_frame()
        for name in ("validation", "test")
    }
    out = tmp_path / "det_curve.png"
    plots.det_plot(out, curves, {"validation": 0.11, "test": 0.11}, fp_target=0.5, points=[("chosen", 0.0, 0.1), ("test", 9.0, 0.2)])
    assert_png(out)


def test_score_histograms(tmp_path):
    rng = np.random.default_rng(1)
    out = tmp_path / "score_histograms.png"
    scores = {"positive": rng.uniform(0.5, 1, 30), "adversarial": rng.uniform(0, 0.6, 30), "general": rng.uniform(0, 0.2, 50)}
    plots.score_histograms(out, scores, {"calibrated": 0.42, "configured": 0.5})
    assert_png(out)
    plots.score_histograms(out, {**scores, "adversarial": np.zeros(0)})  # an empty set is skipped
    assert_png(out)


def test_training_curves(tmp_path):
    history = pd.DataFrame(
        {
            "step": [100, 200, 300],
            "loss": [0.7, 0.3, 0.2],
            "val_recall": [0.5, 0.8, 0.9],
            "train_recall": [0.6, 0.9, 1.0],
            "val_adversarial_accuracy": [0.6, 0.7, 0.8],
            "val_fp_per_hour": [10.0, 3.0, 1.0],
            "val_fp_per_hour_openwakeword": [4.0, 2.0, 0.5],
        }
    )
    out = tmp_path / "training_curves.png"
    plots.training_curves(out, history, best_step=300, fp_target=0.2)
    assert_png(out)
    # an ensemble's history: one line per member
    members = pd.concat([history.assign(member=0), history.assign(member=1, loss=history["loss"] * 1.1)], ignore_index=True)
    out = tmp_path / "training_curves_ensemble.png"
    plots.training_curves(out, members, best_step=[200, 300], fp_target=0.2)
    assert_png(out)


@pytest.fixture
def benchmarks(tmp_path):
    folder = tmp_path / "benchmarks"
    files = {
        "fetch_frontend.tsv": 2.0,
        "train_model/hey_saga.tsv": 30.0,
        "train_model/hey_eris.tsv": 99.0,
        "augment_model_clips/hey_saga/positive_train_0.tsv": 4.0,
        "augment_model_clips/hey_saga/positive_train_1.tsv": 5.0,
        "augment_model_clips/hey_eris/positive_train_0.tsv": 50.0,
        "build_stream/validation.tsv": 3.0,
    }
    for rel, secs in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(HEADER + f"{secs}\t0:00:01\t{10 * secs}\t0\t0\t0\t0\t0\t0\t{secs}\n")
    return folder


def test_runtime_table_keeps_this_phrase_and_shared_rules(benchmarks):
    table = plots.runtime_table(benchmarks, "hey_saga", {"train_model", "augment_model_clips"})
    assert table["job_s_total"].to_dict() == {"train_model": 30.0, "augment_model_clips": 9.0, "build_stream": 3.0, "fetch_frontend": 2.0}
    assert table.loc["augment_model_clips", "jobs"] == 2
    assert table.loc["train_model", "peak_rss_mb"] == 300.0
    everything = plots.runtime_table(benchmarks)
    assert everything.loc["train_model", "job_s_total"] == 129.0


def test_stage_runtimes(tmp_path, benchmarks):
    out = tmp_path / "stage_runtimes.png"
    plots.stage_runtimes(out, plots.runtime_table(benchmarks, "hey_saga", {"train_model", "augment_model_clips"}))
    assert_png(out)
    plots.stage_runtimes(out, plots.runtime_table(tmp_path / "nothing"))
    assert_png(out)
