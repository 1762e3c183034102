"""The flite TTS engine: skipped with its reason when unavailable; real synthesis with the pinned
Debian packages (fetched once per machine into ~/.cache/wakeforge-tests; those tests are skipped,
saying why, where Debian's archive cannot be reached)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from wakeforge import debian, tts
from wakeforge.audio import SAMPLE_RATE, write_json
from wakeforge.errors import WakeforgeError

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wakeforge-tests" / "flite"


def rng(seed):
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def flite_manifest() -> Path:
    path = CACHE / "flite.json"
    manifest = debian.read_manifest(path) if path.is_file() else None
    if manifest is None or not manifest["available"] or not debian.resolve(path, manifest["binary"]).is_file():
        manifest = tts.fetch_flite(CACHE, progress=False, retries=1, timeout_s=20)
        if not manifest["available"]:
            pytest.skip(f"flite could not be fetched here: {manifest['reason']}")
        write_json(path, manifest)
    return path


def test_unavailable_flite_is_skipped_with_its_reason(tmp_path):
    manifest = tmp_path / "flite.json"
    write_json(manifest, {"name": "flite", "available": False, "reason": "connection refused (deb.debian.org)"})
    engines, skipped = tts.available_engines(["espeak", {"name": "flite", "manifest": str(manifest)}])
    assert [e.name for e in engines] == ["espeak"] and skipped == ["flite: connection refused (deb.debian.org)"]
    with pytest.raises(WakeforgeError, match=r"none of the TTS engines .* \(flite: connection refused"):
        tts.available_engines([{"name": "flite", "manifest": str(manifest)}])
    with pytest.raises(WakeforgeError, match="flite needs the manifest"):
        tts.available_engines(["flite"])


def test_flite_voices_and_heldout_split(flite_manifest):
    train = tts.FliteEngine(flite_manifest, heldout=False)
    test = tts.FliteEngine(flite_manifest, heldout=True)
    assert train.voices == ["slt", "awb", "kal16"] and test.voices == ["rms"]
    with pytest.raises(WakeforgeError, match="flite has no voice nobody"):
        tts.FliteEngine(flite_manifest, voices=["slt", "nobody"])


def test_flite_synthesis_is_seeded_and_varies(flite_manifest):
    engines, skipped = tts.available_engines([{"name": "flite", "manifest": str(flite_manifest), "weight": 2}], heldout=False)
    flite = engines[0]
    assert not skipped and flite.weight == 2
    a = flite.synthesize("hey saga", rng(1))
    assert a.dtype == np.int16 and 0.3 * SAMPLE_RATE < len(a) < 3 * SAMPLE_RATE and np.abs(a).max() > 3000
    assert np.array_equal(a, flite.synthesize("hey saga", rng(1)))
    settings = [flite.settings(rng(s)) for s in range(30)]
    assert {s["voice"] for s in settings} == {"slt", "awb", "kal16"}
    assert len({round(s["f0"]) for s in settings}) > 10 and len({round(s["stretch"], 3) for s in settings}) > 10
    slow = flite.synthesize("hey saga how are you", rng(2), {"length_scale": (1.35, 1.35)})
    fast = flite.synthesize("hey saga how are you", rng(2), {"length_scale": (0.75, 0.75)})
    assert len(slow) > 1.4 * len(fast)
    clips, kept, n_skipped = tts.synthesize_texts(["-t leading dash", "hello there"], [flite], rng(3))
    assert n_skipped == 0 and kept == ["-t leading dash", "hello there"]
