"""The full tier's catalogue: tier/asset switches, mirror URLs, pins and overrides, listings."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.utils import validate
from test_workflow import ROOT

from wakeforge import catalog
from wakeforge.download import Checksum
from wakeforge.errors import WakeforgeError

SCHEMA = str(ROOT / "config" / "schema.yaml")


def config(**assets) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["assets"].update(copy.deepcopy(assets))
    validate(cfg, SCHEMA)
    return cfg


def test_tier_and_per_asset_switches():
    embedded = config()
    assert not any(catalog.enabled(embedded, a) for a in catalog.ASSETS)
    full = config(tier="full")
    assert all(catalog.enabled(full, a) for a in catalog.ASSETS)
    mixed = config(tier="full", full={"acav100m": {"enabled": False}})
    assert not catalog.enabled(mixed, "acav100m") and catalog.enabled(mixed, "mit_rirs")
    only_voices = config(full={"piper_voices": {"enabled": True}})
    assert [a for a in catalog.ASSETS if catalog.enabled(only_voices, a)] == ["piper_voices"]


def test_pinned_files_use_every_mirror_at_the_pinned_revision():
    cfg = config(tier="full", full={"hosts": {"huggingface": ["https://mirror.example/", "https://huggingface.co"]}})
    remote = catalog.single_file(cfg, "acav100m", catalog.FEATURES, catalog.ACAV_FILE)
    assert remote.urls == (
        f"https://mirror.example/datasets/davidscripka/openwakeword_features/resolve/{catalog.FEATURES.revision}/{catalog.ACAV_FILE}",
        f"https://huggingface.co/datasets/davidscripka/openwakeword_features/resolve/{catalog.FEATURES.revision}/{catalog.ACAV_FILE}",
    )
    assert remote.checksum == Checksum("sha256", "721a66d0682c65a1b5c1da0aa109409cede1d20e28b15235c344b000cbb7654f")
    assert remote.size == 17_280_000_128


def test_single_file_overrides_replace_urls_and_pin():
    sha = "ab" * 32
    cfg = config(tier="full", full={"validation_features": {"urls": ["http://127.0.0.1:9/v.npy"], "sha256": sha.upper()}})
    remote = catalog.single_file(cfg, "validation_features", catalog.FEATURES, catalog.VALIDATION_FILE)
    assert remote == catalog.RemoteFile(("http://127.0.0.1:9/v.npy",), Checksum("sha256", sha), None)


def test_frontend_and_tree_urls():
    cfg = config(tier="full")
    assert catalog.frontend_urls(cfg, "melspectrogram.onnx") == [
        "https://github.com/dscripka/openWakeWord/releases/download/v0.5.1/melspectrogram.onnx"
    ]
    assert catalog.hf_tree_urls(cfg, catalog.RIRS, "16khz") == [
        f"https://huggingface.co/api/datasets/davidscripka/MIT_environmental_impulse_responses/tree/{catalog.RIRS.revision}/16khz"
    ]
    assert catalog.hf_tree_urls(cfg, catalog.FMA, "")[0].endswith("/api/datasets/mchl914/fma_xsmall/tree/main")
    assert catalog.hf_file(cfg, catalog.VOICES, "en/x.onnx").urls[0] == "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/x.onnx"


def test_voice_names():
    assert catalog.voice_folder("en_US-libritts_r-medium") == "en/en_US/libritts_r/medium"
    assert catalog.voice_folder("de_DE-thorsten-high") == "de/de_DE/thorsten/high"
    with pytest.raises(WakeforgeError, match="piper_voices"):
        catalog.voice_folder("libritts")
    specs = catalog.voice_specs(config(tier="full"))
    assert specs[0] == {"name": "en_US-libritts_r-medium", "weight": 6} and {"name": "en_US-lessac-medium"} in specs


def test_schema_rejects_bad_full_tier_keys():
    for bad in ({"tier": "everything"}, {"full": {"acav100m": {"sha256": "xyz"}}}, {"full": {"piper_voices": {"voices": ["joe"]}}},
                {"full": {"hosts": {"huggingface": ["ftp://x"]}}}, {"full": {"fma": {"max_tracks": 3}}}):
        with pytest.raises(Exception):
            config(**bad)


def test_parse_listing_takes_lfs_sha256_or_git_blob_id():
    entries = [
        {"type": "directory", "oid": "0", "size": 0, "path": "16khz/sub"},
        {"type": "file", "oid": "ce013625030ba8dba906f756967f9e9ca394464a", "size": 6, "path": "a.txt"},
        {"type": "file", "oid": "1" * 40, "size": 99, "path": "b.wav", "lfs": {"oid": "f" * 64, "size": 1234, "pointerSize": 130}},
    ]
    files = catalog.parse_listing(entries, "test")
    assert files == {"a.txt": (6, Checksum("git-sha1", "ce013625030ba8dba906f756967f9e9ca394464a")), "b.wav": (1234, Checksum("sha256", "f" * 64))}
    with pytest.raises(WakeforgeError, match="not a file listing"):
        catalog.parse_listing({"error": "Repository not found"}, "the MIT list")
    with pytest.raises(WakeforgeError, match="malformed"):
        catalog.parse_listing([{"type": "file", "path": "x"}], "the MIT list")
