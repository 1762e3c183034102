"""End to end: the real workflow on a tiny config in a temporary directory.

Runs every rule (assets, TTS, augmentation, features, training, export, calibration, evaluation,
plots), then checks the outputs, the threshold sidecar, the figures and ``snakemake --report``,
that openWakeWord's own runtime loads and streams the model, that a second dry run has nothing to
do, that config and code changes make exactly the right stages stale, and that a
second phrase reruns only phrase-specific rules.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny_config.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

PHRASE_RULES = {
    "make_phrases",
    "synthesize_model_clips",
    "measure_clip_length",
    "augment_model_clips",
    "model_features",
    "merge_model_features",
    "train_model",
    "export_onnx",
    "export_tflite",
    "calibrate_threshold",
    "evaluate_model",
    "plot_results",
    "all",
}
# the sidecar records the config's hash, so any config change reruns calibration and what follows it
AFTER_EXPORT = {"calibrate_threshold", "evaluate_model", "plot_results", "all"}
PLOTS = ("det_curve.png", "score_histograms.png", "training_curves.png", "stage_runtimes.png")
SIDECAR_KEYS = {
    "phrase",
    "model",
    "threshold",
    "calibrated",
    "target_false_accepts_per_hour",
    "meets_target",
    "validation_recall",
    "validation_false_accepts_per_hour",
    "validation_hours",
    "refractory_seconds",
    "config_hash",
}
SHARED_OUTPUTS = [
    "resources/frontend/melspectrogram.onnx",
    "resources/frontend/embedding_model.onnx",
    "resources/rirs/manifest.tsv",
    "resources/background/manifest.tsv",
    "resources/text/words.txt",
    "resources/features/general_train.npy",
    "resources/features/general_test.npy",
    "resources/features/stream_train.npy",
    "resources/features/stream_validation.npy",
    "resources/stream/validation_sentences.tsv",
]

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [*SNAKEMAKE, "--cores", "2", "--resources", "gpu=1", "--configfile", str(TINY), *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=1200)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned_rules(proc: subprocess.CompletedProcess) -> set[str]:
    """Rule names in the job-count table of a dry run."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return set()
    table = text.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.MULTILINE)} - {"job", "count"}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    for item in ("Snakefile", "rules", "scripts", "config", "envs", "report"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, workdir / item)
    snakemake(workdir)
    return workdir


def test_outputs_and_metrics(workflow: Path):
    out = workflow / "results" / "hey_saga"
    for name in ("hey_saga.onnx", "hey_saga.tflite", "hey_saga.pt", "metrics.json", "training_history.csv", "clip_length.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["phrase"] == "hey saga"
    for key in ("accuracy", "recall", "false_accepts_per_hour"):
        assert np.isfinite(metrics[key]), key
    assert metrics["n_positive"] == 16 and metrics["n_general"] > 0
    assert metrics["stream_hours"] > 0
    # tiny data and 300 steps still separate positives from general speech at 0.5 (the calibrated
    # threshold of so tiny a validation set can sit near 1, with no recall to speak of)
    at_half = metrics["at_configured_threshold"]
    assert at_half["recall"] - at_half["general_false_positive_rate"] >= 0.25
    assert at_half["general_false_positive_rate"] <= 0.25
    # the test positives come from every engine (eSpeak, flite and mbrola with their held-out
    # voices), reported apart; the Debian engines only where their packages could be fetched
    by_engine = metrics["recall_by_engine"]
    fetched = {e for e in ("flite", "mbrola", "pico", "rhvoice") if json.loads((workflow / "resources" / e / f"{e}.json").read_text())["available"]}
    assert set(by_engine) == {"espeak", "piper:en_US-joe-medium"} | fetched
    assert sum(r["n_clips"] for r in by_engine.values()) == metrics["n_positive"]
    # and per background SNR band (augmentation records each row's SNR through to the features)
    assert sum(r["n_clips"] for r in metrics["recall_by_snr"].values()) == metrics["n_positive"]
    # the augmentation's effects travel with the features: recall with and without each
    meta = np.load(out / "features" / "positive_test.meta.npz")
    effects = {k.removeprefix("effect_"): meta[k] for k in meta.files if k.startswith("effect_")}
    assert {"rir", "background", "pitch", "bandstop"} <= set(effects)
    mixed = {name for name, flags in effects.items() if 0 < flags.sum() < len(flags)}
    assert "rir" in mixed and set(metrics["recall_by_effect"]) == mixed
    for name, r in metrics["recall_by_effect"].items():
        assert r["with"]["n_clips"] == effects[name].sum() and r["without"]["n_clips"] == (~effects[name]).sum(), name
    # each false accept on the report third, with what the stream said there
    false_accepts = pd.read_csv(out / "false_accepts.tsv", sep="\t", keep_default_na=False)
    assert len(false_accepts) == metrics["streams"]["wakeforge"]["false_accepts"]
    sentences = pd.read_csv(workflow / "resources/stream/validation_sentences.tsv", sep="\t", keep_default_na=False)
    texts = set((workflow / "resources/text/stream_validation.txt").read_text().splitlines())
    assert len(sentences) > 10 and set(sentences["text"]) <= texts
    assert (sentences["start_s"] < sentences["end_s"]).all() and sentences["end_s"].max() <= metrics["stream_hours"] * 3 * 3600 + 1
    features = np.load(out / "features" / "positive_train.npy")
    assert features.shape == (40, 16, 96) and features.dtype == np.float32
    # test clips go on for evaluation.latency_s (0.32 s: 4 frames) after the phrase; a clip's score
    # is its best window, so recall is at least that of the window at the phrase's end
    assert np.load(out / "features" / "positive_test.npy").shape == (16, 20, 96)
    assert metrics["recall"] >= metrics["recall_at_phrase_end"]
    # training clips get other voices (tts.voice_change), test clips keep the engines' own
    logs = workflow / "logs" / "synthesize_model_clips" / "hey_saga"
    assert "voice change on" in (logs / "positive_train_0.log").read_text()
    assert "voice change on" not in (logs / "positive_test_0.log").read_text()
    for path in SHARED_OUTPUTS:
        assert (workflow / path).is_file(), path
    assert (workflow / "logs" / "train_model" / "hey_saga.log").is_file()
    assert (workflow / "results" / "benchmarks" / "train_model" / "hey_saga.tsv").is_file()


def test_training_clips_cover_every_alignment_a_detection_counts_at(workflow: Path):
    """Training phrases end up to end_jitter_s + latency_s before their window's end; test phrases
    up to end_jitter_s, then the latency's tail frames follow."""
    logs = workflow / "logs" / "augment_model_clips" / "hey_saga"
    for name in ("positive_train_0", "adversarial_train_0"):
        assert "phrase ends 0..0.52 s before the window's end (then 0 tail frames)" in (logs / f"{name}.log").read_text()
    for name in ("positive_test_0", "adversarial_test_0"):
        assert "phrase ends 0..0.20 s before the window's end (then 4 tail frames)" in (logs / f"{name}.log").read_text()


def test_calibration_sidecar_and_plots(workflow: Path):
    out = workflow / "results" / "hey_saga"
    sidecar = json.loads((out / "hey_saga.json").read_text())
    assert SIDECAR_KEYS <= set(sidecar)
    assert sidecar["phrase"] == "hey saga" and sidecar["model"] == "hey_saga.onnx"
    assert 0.0 <= sidecar["threshold"] <= 1.0 and sidecar["calibrated"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", sidecar["config_hash"])
    assert sidecar["validation_hours"] > 0 and 0.0 <= sidecar["validation_recall"] <= 1.0
    assert sidecar["meets_target"] == (sidecar["validation_false_accepts_per_hour"] <= sidecar["target_false_accepts_per_hour"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["calibration"] == sidecar
    assert metrics["threshold"] == sidecar["threshold"]
    assert metrics["at_configured_threshold"]["threshold"] == 0.5
    for key in ("recall", "false_accepts_per_hour"):
        assert np.isfinite(metrics["at_configured_threshold"][key]), key
    for name in PLOTS:
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 2000, name
    assert (workflow / "results" / "benchmarks" / "calibrate_threshold" / "hey_saga.tsv").is_file()


def test_report_is_html(workflow: Path):
    report = workflow / "report.html"
    snakemake(workflow, "--report", str(report))
    html = report.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:2000].lower()
    assert "det_curve.png" in html and "stage_runtimes.png" in html


def test_openwakeword_runtime_loads_and_streams(workflow: Path):
    openwakeword_model = pytest.importorskip("openwakeword.model")
    import onnx

    from wakeforge.audio import load_clips

    onnx_path = workflow / "results" / "hey_saga" / "hey_saga.onnx"
    graph = onnx.load(str(onnx_path)).graph
    dims = lambda v: [d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert dims(graph.input[0]) == [1, 16, 96] and dims(graph.output[0]) == [1, 1]

    frontend = workflow / "resources" / "frontend"
    model = openwakeword_model.Model(
        wakeword_models=[str(onnx_path)],
        inference_framework="onnx",
        melspec_model_path=str(frontend / "melspectrogram.onnx"),
        embedding_model_path=str(frontend / "embedding_model.onnx"),
    )
    clips, _ = load_clips(workflow / "results" / "hey_saga" / "clips" / "positive_test" / "0.npz")
    silence = np.zeros(16000, dtype=np.int16)
    audio = np.concatenate([silence, silence, clips[0], silence])
    scores = [model.predict(audio[i : i + 1280])["hey_saga"] for i in range(0, len(audio) - 1279, 1280)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(scores) >= 0.5, f"the phrase never fired in openWakeWord's runtime: max {max(scores):.3f}"
    assert max(scores[:20]) < 0.5, "fired on leading silence"


def test_second_dry_run_has_nothing_to_do(workflow: Path):
    proc = snakemake(workflow, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def dry_run(workdir: Path, overlay: str) -> subprocess.CompletedProcess:
    """A dry run with an extra config file layered over the tiny config."""
    extra = workdir / "overlay.yaml"
    extra.write_text(overlay)
    return snakemake(workdir, "-n", "--configfile", str(TINY), str(extra))


def dry_run_with(workdir: Path, overlay: str) -> set[str]:
    """Rules a dry run plans with an extra config file layered over the tiny config."""
    return planned_rules(dry_run(workdir, overlay))


def test_config_change_makes_only_its_stage_stale(workflow: Path):
    assert dry_run_with(workflow, "evaluation: {targets: {recall: 0.6}}\n") == AFTER_EXPORT
    assert dry_run_with(workflow, "evaluation: {calibrate: false}\n") == AFTER_EXPORT
    assert dry_run_with(workflow, "train: {steps: 301}\n") == {"train_model", "export_onnx", "export_tflite"} | AFTER_EXPORT
    # the same change as a nested --config override, whose values Snakemake passes as strings
    nested = planned_rules(snakemake(workflow, "-n", "--config", 'train={"steps": 301}'))
    assert nested == {"train_model", "export_onnx", "export_tflite"} | AFTER_EXPORT
    assert dry_run_with(workflow, "augmentation: {snr_db: [0.0, 10.0]}\n") >= {"augment_model_clips", "augment_general_clips", "train_model"}
    # sentence onsets in the general negatives: only the training set's clips are placed again
    training = {"train_model", "export_onnx", "export_tflite"} | AFTER_EXPORT
    proc = dry_run(workflow, "augmentation: {onset_fraction: 0.5}\n")
    general = {"augment_general_clips", "general_features", "merge_general_features"}
    assert planned_rules(proc) == general | training
    text = proc.stdout + proc.stderr
    assert "resources/augmented/general_train/" in text and "general_test/" not in text
    # more rounds: only the phrase's training sets are augmented again, not its test sets or the
    # general negatives (which always take one round)
    proc = dry_run(workflow, "augmentation: {rounds: 2}\n")
    assert planned_rules(proc) == {"augment_model_clips", "model_features", "merge_model_features"} | training
    text = proc.stdout + proc.stderr
    assert set(re.findall(r"augmented/(\w+)/", text)) == {"positive_train", "adversarial_train"}
    # more general negatives: the babble backgrounds still come from the first 10 shards (20
    # clips each here), so the held-out audio mixed with them stays the same
    proc = dry_run(workflow, "n_general_samples: 400\n")
    text = proc.stdout + proc.stderr
    babble = text.split("build_background:\n", 1)[1].split("input:", 1)[1].split("\n", 1)[0]
    assert {int(i) for i in re.findall(r"general_train/(\d+)\.npz", babble)} == set(range(10))
    # recorded speech: one more Debian fetch (music stays off in the tiny config), new backgrounds
    talk = dry_run_with(workflow, "assets: {use_debian_speech: true}\n")
    assert {"fetch_debian_audio", "build_background", "augment_model_clips", "train_model"} <= talk
    assert "synthesize_model_clips" not in talk and "fetch_tts_engine" not in talk
    # accented MBROLA voices for training: fetched by their own rule, beside mbrola's (which
    # stays as it is), so only the training sets' synthesis reruns
    names = ("piper", "espeak", "flite", "mbrola", "pico", "rhvoice")  # as config.yaml lists them
    engines = ", ".join(f"{{name: {n}, weight: 1.0" + (", train_voices: [ro1-en]}" if n == "mbrola" else "}") for n in names)
    proc = dry_run(workflow, f"tts: {{engines: [{engines}]}}\n")
    planned = planned_rules(proc)
    assert {"fetch_mbrola_accents", "synthesize_model_clips", "synthesize_shared_clips", "train_model"} <= planned
    assert "fetch_tts_engine" not in planned
    text = proc.stdout + proc.stderr
    rerun = set(re.findall(r"(?:tts_set|shared_set)=(\w+)", text))
    assert rerun == {"positive_train", "adversarial_train", "general_train", "stream_train"}


def test_script_change_makes_only_its_stage_stale(workflow: Path):
    script = workflow / "scripts" / "export_onnx.py"
    original = script.read_text()
    try:
        script.write_text(original + "\n# edited\n")
        proc = snakemake(workflow, "-n")
        assert planned_rules(proc) == {"export_onnx", "export_tflite"} | AFTER_EXPORT
    finally:
        script.write_text(original)


def test_second_phrase_reuses_phrase_independent_outputs(workflow: Path):
    """A second phrase reruns only phrase-specific rules; for "hey jarvis", which openWakeWord ships
    a model for, that model is fetched and scored beside ours on the same held-out data."""
    before = {p: (workflow / p).stat().st_mtime_ns for p in SHARED_OUTPUTS}
    proc = snakemake(workflow, "-n", "--config", "target_phrase=hey jarvis")
    assert planned_rules(proc) == PHRASE_RULES | {"fetch_reference_model", "compare_reference"}
    snakemake(workflow, "--config", "target_phrase=hey jarvis")
    results = workflow / "results" / "hey_jarvis"
    assert (results / "hey_jarvis.onnx").is_file()
    assert json.loads((results / "metrics.json").read_text())["phrase"] == "hey jarvis"
    assert {p: (workflow / p).stat().st_mtime_ns for p in SHARED_OUTPUTS} == before

    comparison = json.loads((results / "reference_comparison.json").read_text())
    ours, theirs = "wakeforge hey_jarvis", "openWakeWord hey_jarvis_v0.1"
    assert comparison["reference"] == "hey_jarvis_v0.1" and set(comparison["models"]) == {ours, theirs}
    stream_frames = len(np.load(workflow / "resources" / "features" / "stream_validation.npy"))
    for figures in comparison["models"].values():
        assert [row["budget_per_hour"] for row in figures["at_budgets"]] == [0.2, 0.5, 1.0, 2.0, 5.0]
        assert all(0.0 <= row["recall"] <= 1.0 for row in figures["at_budgets"])
        assert figures["stream_hours"] == pytest.approx(2 * (stream_frames // 3) * 0.08 / 3600, rel=0.01)
    assert comparison["models"][ours]["at_own_threshold"]["threshold"] == json.loads((results / "hey_jarvis.json").read_text())["threshold"]
    # openWakeWord's model hears "hey jarvis" in our augmented test clips: our features are its features
    assert comparison["models"][theirs]["at_own_threshold"]["threshold"] == 0.5
    assert comparison["models"][theirs]["at_own_threshold"]["recall"] >= 0.25
    assert (results / "reference_det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (workflow / "results" / "hey_saga" / "reference_comparison.json").exists()


def test_bad_config_is_one_clear_error(workflow: Path):
    proc = snakemake(workflow, "-n", "--config", "n_sampels=5", check=False)
    assert proc.returncode != 0
    assert "n_sampels" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def assert_one_clear_error(workdir: Path, overlay: str, message: str) -> None:
    """A dry run with ``overlay`` layered over the tiny config fails with ``message``, no traceback."""
    extra = workdir / "bad_overlay.yaml"
    extra.write_text(overlay)
    proc = snakemake(workdir, "-n", "--configfile", str(TINY), str(extra), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_accented_voices_for_another_engine_are_one_clear_error(workflow: Path):
    overlay = "tts: {engines: [{name: flite, train_voices: [ro1-en]}]}\n"
    assert_one_clear_error(workflow, overlay, "config key tts.engines: train_voices is for mbrola only, not flite")


def test_missing_background_folder_is_named_before_any_job(workflow: Path):
    message = "config key background_dirs: '/no/such/folder' is not a folder"
    assert_one_clear_error(workflow, "background_dirs: [/no/such/folder]\n", message)
