"""End to end on the full-data tier: the real workflow downloads every dataset from a local fixture
server (a first mirror that answers 404 for everything, a transfer dropped halfway), verifies,
decodes and uses it, and reports false accepts per hour on openWakeWord's validation features."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from fixture_server import FixtureServer
from full_tier_site import VOICE, build_site
from test_workflow import ROOT, SNAKEMAKE, snakemake

from wakeforge import catalog
from wakeforge.assets import read_manifest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    files, overrides = build_site()
    workdir = tmp_path_factory.mktemp("full_tier")
    for item in ("Snakefile", "rules", "scripts", "config", "envs", "report"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, workdir / item)
    # the user's own recordings (here: Piper saying the phrase at other speeds) ride along
    recordings = workdir / "my_recordings"
    recordings.mkdir()
    write_recordings(recordings)
    overrides["personal_recordings"] = {"folder": str(recordings), "rounds": 3, "test_fraction": 0.34}
    with FixtureServer(files) as server:
        overrides["assets"]["full"]["hosts"] = {"huggingface": [server.url + "/gone", server.url], "github": [server.url + "/gone", server.url]}
        (workdir / "full.yaml").write_text(yaml.safe_dump(overrides))
        acav_path = "/" + catalog.FEATURES.file_path(catalog.ACAV_FILE)
        voice_path = "/" + catalog.VOICES.file_path(f"{catalog.voice_folder(VOICE)}/{VOICE}.onnx")
        server.faults[acav_path] = "drop"
        server.faults[voice_path] = "drop"
        snakemake(workdir, "--configfile", str(ROOT / "tests" / "data" / "tiny_config.yaml"), str(workdir / "full.yaml"))
        dry = snakemake(workdir, "-n", "--configfile", str(ROOT / "tests" / "data" / "tiny_config.yaml"), str(workdir / "full.yaml"))
        yield workdir, server, {"acav": acav_path, "voice": voice_path}, dry


def write_recordings(folder):
    from wakeforge.seeding import rng_for
    from wakeforge.tts import available_engines, synthesize_texts

    engines, _ = available_engines(["piper"])
    clips, _, _ = synthesize_texts(["hey saga", "hey saga!", "hey, saga", "hey saga?"], engines, rng_for(5, "recordings"), {"length_scale": (0.8, 1.3)})
    for i, clip in enumerate(clips):
        sf.write(folder / f"take{i}.wav", np.concatenate([np.zeros(8000, np.int16), clip, np.zeros(8000, np.int16)]), 16000)


def test_downloads_resume_and_fall_back(full_run):
    workdir, server, paths, _ = full_run
    log = server.requests
    for path in paths.values():
        ranges = [r for p, r, status in log if p == path and status == 206]
        assert ranges and ranges[0].startswith("bytes=") and not ranges[0].startswith("bytes=0-"), f"{path} was not resumed: {log}"
    assert any(p.startswith("/gone/") and status == 404 for p, _, status in log), "the first mirror was never tried"
    downloads = workdir / "resources" / "downloads"
    assert not list(downloads.rglob("*.part")), "a partial download was left behind"
    acav = np.load(downloads / "openwakeword_features" / catalog.ACAV_FILE, mmap_mode="r")
    assert acav.shape == (3000, 16, 96) and acav.dtype == np.float16


def test_downloaded_audio_joins_the_asset_pools(full_run):
    workdir, *_ = full_run
    rir_kinds = [e.kind for e in read_manifest(workdir / "resources" / "rirs" / "manifest.tsv")]
    assert rir_kinds.count("mit") == 6  # the listing's README.txt was not taken
    bg = read_manifest(workdir / "resources" / "background" / "manifest.tsv")
    kinds = [e.kind for e in bg]
    assert kinds.count("audioset") == 5, "5 decodable rows of 6 (one broken row skipped)"
    assert kinds.count("fma") == 3, "max_clips limits the FMA tracks"
    for entry in bg:
        if entry.kind in ("audioset", "fma"):
            assert 2.9 < entry.seconds < 4.1
    decode_log = (workdir / "logs" / "download" / "decode_audioset.log").read_text()
    assert "5 clips decoded, 1 skipped" in decode_log
    assert (workdir / "resources" / "downloads" / "piper" / f"{VOICE}.onnx.json").is_file()


def test_training_and_metrics_use_the_validation_features(full_run):
    workdir, *_ = full_run
    out = workdir / "results" / "hey_saga"
    metrics = json.loads((out / "metrics.json").read_text())
    oww = metrics["streams"]["openwakeword"]
    assert oww["hours"] == pytest.approx(2000 * 0.08 / 3600)  # one window per frame of the reported third of 6000 frames
    assert set(metrics["streams"]) == {"wakeforge", "openwakeword"}
    assert metrics["stream_hours"] == pytest.approx(sum(s["hours"] for s in metrics["streams"].values()))
    history = pd.read_csv(out / "training_history.csv")
    assert "val_fp_per_hour_openwakeword" in history.columns
    train_log = (workdir / "logs" / "train_model" / "hey_saga.log").read_text()
    assert "precomputed negatives: 3000 windows, 2000 on the device" in train_log
    assert (out / "hey_saga.onnx").is_file()
    # personal recordings: 4 takes -> 3 for training (x3 rounds), 1 held out (x3), reported apart
    assert np.load(out / "features" / "personal_train.npy").shape[0] == 9
    assert metrics["personal"]["n_clips"] == 3 and 0.0 <= metrics["personal"]["recall"] <= 1.0
    assert "added 9 augmented copies of the personal recordings" in train_log


def test_nothing_left_to_do_afterwards(full_run):
    *_, dry = full_run
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_unreachable_mirrors_give_one_clear_line_and_no_file(tmp_path):
    for item in ("Snakefile", "rules", "scripts", "config", "envs", "report"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    target = f"resources/downloads/openwakeword_features/{catalog.VALIDATION_FILE}"
    with FixtureServer({}) as server:  # answers 404 for everything
        full = {"assets": {"tier": "full", "full": {"retries": 0, "hosts": {"huggingface": [dead, server.url]}}}}
        (tmp_path / "full.yaml").write_text(yaml.safe_dump(full))
        cmd = [*SNAKEMAKE, target, "--cores", "1", "--configfile", str(ROOT / "tests" / "data" / "tiny_config.yaml"), str(tmp_path / "full.yaml")]
        proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "download" / "validation_features.log").read_text()
    errors = [line for line in log.splitlines() if "error: could not download validation_features" in line]
    assert len(errors) == 1, log
    assert dead in errors[0] and server.url in errors[0] and "HTTP 404" in errors[0] and "assets.full.validation_features.urls" in errors[0]
    assert "Traceback" not in log
    assert not (tmp_path / target).exists() and not list((tmp_path / "resources").rglob("*.part"))
