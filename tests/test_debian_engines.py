"""The TTS engines from Debian's archive (flite; mbrola: espeak-ng with MBROLA voices; pico; rhvoice): skipped
with their reason when unavailable; real synthesis with the pinned packages (fetched once per
machine into ~/.cache/wakeforge-tests; those tests are skipped, saying why, where Debian's archive
cannot be reached)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from wakeforge import debian, tts
from wakeforge.audio import SAMPLE_RATE, write_json
from wakeforge.errors import WakeforgeError

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wakeforge-tests"


def rng(seed):
    return np.random.default_rng(seed)


def fetched(name: str, fetch) -> Path:
    """The manifest of engine ``name`` in the test cache, fetched when missing. A skip when the
    packages cannot be downloaded here; a failure when they were but the engine does not run
    (a library the pins miss: the engine would be skipped on every machine without it)."""
    path = CACHE / name / f"{name}.json"
    manifest = debian.read_manifest(path) if path.is_file() else None
    if manifest is None or not manifest["available"] or not debian.resolve(path, manifest["root"]).is_dir():
        shutil.rmtree(path.parent / "root", ignore_errors=True)
        manifest = fetch(path.parent, progress=False, retries=1, timeout_s=20)
        if not manifest["available"]:
            if (path.parent / "root").is_dir():
                pytest.fail(f"{name} was fetched but does not run: {manifest['reason']}")
            pytest.skip(f"{name} could not be fetched here: {manifest['reason']}")
        write_json(path, manifest)
    return path


@pytest.fixture(scope="module")
def flite_manifest() -> Path:
    return fetched("flite", tts.fetch_flite)


@pytest.fixture(scope="module")
def mbrola_manifest() -> Path:
    return fetched("mbrola", tts.fetch_mbrola)


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


def test_unavailable_mbrola_is_skipped_with_its_reason(tmp_path):
    manifest = tmp_path / "mbrola.json"
    write_json(manifest, {"name": "mbrola", "available": False, "reason": "no pinned Debian package of mbrola for this machine"})
    engines, skipped = tts.available_engines(["espeak", {"name": "mbrola", "manifest": str(manifest)}])
    assert [e.name for e in engines] == ["espeak"] and skipped == ["mbrola: no pinned Debian package of mbrola for this machine"]
    with pytest.raises(WakeforgeError, match="mbrola needs the manifest"):
        tts.available_engines(["mbrola"])


def test_mbrola_voices_and_heldout_split(mbrola_manifest):
    manifest = debian.read_manifest(mbrola_manifest)
    assert manifest["voices"] == ["en1", "us1", "us2", "us3"]
    assert tts.MbrolaEngine(mbrola_manifest, heldout=False).voices == ["us1", "us2", "en1"]
    assert tts.MbrolaEngine(mbrola_manifest, heldout=True).voices == ["us3"]
    with pytest.raises(WakeforgeError, match="mbrola has no voice fr1"):
        tts.MbrolaEngine(mbrola_manifest, voices=["us1", "fr1"])


def test_mbrola_accented_voices_train_only(tmp_path, caplog):
    manifest = tmp_path / "mbrola.json"
    fields = {"name": "mbrola", "available": True, "root": "root", "binary": "root/usr/bin/espeak-ng", "data": "root/usr/lib"}
    write_json(manifest, {**fields, "voices": ["en1", "us1", "us2", "us3"]})
    accents = tmp_path / "mbrola_accents.json"
    both = ["ro1-en", "sw2-en"]
    with pytest.raises(WakeforgeError, match="train_voices need the manifest of rule fetch_mbrola_accents"):
        tts.MbrolaEngine(manifest, train_voices=both)
    write_json(accents, {"name": "mbrola_accents", "available": True, "root": "root", "data": "espeak", "voices": ["ro1"]})
    with pytest.raises(WakeforgeError, match="mbrola_accents.json has no accented voice sw2-en"):  # not fetched
        tts.MbrolaEngine(manifest, train_voices=both, accents=accents)
    write_json(accents, {"name": "mbrola_accents", "available": True, "root": "root", "data": "espeak", "voices": ["ro1", "sw2"]})
    train = tts.MbrolaEngine(manifest, train_voices=both, accents=accents, heldout=False)
    assert train.voices == ["us1", "us2", "en1", *both] and train.data == str(tmp_path / "espeak")
    test = tts.MbrolaEngine(manifest, train_voices=both, accents=accents, heldout=True)
    assert test.voices == ["us3"] and test.data == str(tmp_path / "root/usr/lib")
    assert tts.MbrolaEngine(manifest, train_voices=both, accents=accents).voices == ["us1", "us2", "en1", "us3", *both]
    # accented voices that could not be fetched: training goes on without them, saying why
    write_json(accents, {"name": "mbrola_accents", "available": False, "reason": "connection refused"})
    with caplog.at_level("WARNING", logger="wakeforge.tts"):
        assert tts.MbrolaEngine(manifest, train_voices=both, accents=accents, heldout=False).voices == ["us1", "us2", "en1"]
    assert "without the accented voices ro1-en, sw2-en: connection refused" in caplog.text
    # the config schema offers exactly the pinned voices
    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "schema.yaml").read_text())
    engine = schema["properties"]["tts"]["properties"]["engines"]["items"]["oneOf"][1]
    assert engine["properties"]["train_voices"]["items"]["enum"] == [f"{v}-en" for v in debian.MBROLA_ACCENT_PACKAGES]
    for bad in ("ro1", "xx1-en", "us1-en"):
        with pytest.raises(WakeforgeError, match=f"mbrola has no accented voice '{bad}' for train_voices"):
            tts.MbrolaEngine(manifest, train_voices=[bad], accents=accents)
    flite = tmp_path / "flite.json"
    write_json(flite, {**fields, "name": "flite", "voices": list(tts.DEFAULT_FLITE_VOICES)})
    with pytest.raises(WakeforgeError, match="unknown options for 'flite': train_voices"):
        tts.available_engines([{"name": "flite", "manifest": str(flite), "train_voices": ["ro1-en"]}])


def test_mbrola_fetches_and_speaks_an_accented_voice(mbrola_manifest):
    """An accented voice's package is fetched beside mbrola's, which it leaves as it was, and
    speaks English in its own timbre."""
    before = mbrola_manifest.read_bytes()
    accents = fetched(
        "mbrola_accents", lambda dest, **kw: tts.fetch_mbrola_accents(dest, mbrola_manifest, ["ro1-en"], **kw)
    )
    manifest = debian.read_manifest(accents)
    assert manifest["voices"] == ["ro1"] and list(manifest["packages"]) == ["mbrola-ro1"]
    assert mbrola_manifest.read_bytes() == before
    engines, _ = tts.available_engines(
        [{"name": "mbrola", "manifest": str(mbrola_manifest), "voices": ["us2"], "train_voices": ["ro1-en"], "accents": str(accents)}],
        heldout=False,
    )
    engine = engines[0]
    draws = {s: engine.settings(rng(s))["voice"] for s in range(20)}
    seed = next(s for s, v in draws.items() if v == "ro1-en")
    accented = engine.synthesize("hey saga", rng(seed))
    assert 0.3 * SAMPLE_RATE < len(accented) < 3 * SAMPLE_RATE and np.abs(accented).max() > 3000
    plain = tts.MbrolaEngine(mbrola_manifest, voices=["us2"]).synthesize("hey saga", rng(seed))
    assert not np.array_equal(accented[: len(plain)], plain[: len(accented)])
    # the base voices still speak from the accents' data folder
    us2 = next(s for s, v in draws.items() if v == "us2")
    assert np.array_equal(engine.synthesize("hey saga", rng(us2)), tts.MbrolaEngine(mbrola_manifest, voices=["us2"]).synthesize("hey saga", rng(us2)))


def test_mbrola_synthesis_is_seeded_and_varies(mbrola_manifest):
    engines, skipped = tts.available_engines([{"name": "mbrola", "manifest": str(mbrola_manifest)}], heldout=False)
    mbrola = engines[0]
    assert not skipped
    a = mbrola.synthesize("hey saga", rng(1))
    assert a.dtype == np.int16 and 0.3 * SAMPLE_RATE < len(a) < 3 * SAMPLE_RATE and np.abs(a).max() > 3000
    assert np.array_equal(a, mbrola.synthesize("hey saga", rng(1)))
    settings = [mbrola.settings(rng(s)) for s in range(30)]
    assert {s["voice"] for s in settings} == {"us1", "us2", "en1"}
    assert len({s["pitch"] for s in settings}) > 10 and len({s["rate"] for s in settings}) > 10
    slow = mbrola.synthesize("hey saga how are you", rng(2), {"length_scale": (1.35, 1.35)})
    fast = mbrola.synthesize("hey saga how are you", rng(2), {"length_scale": (0.75, 0.75)})
    assert len(slow) > 1.4 * len(fast)
    # the voices differ: a female and a male voice at the same settings differ in pitch
    female = tts.MbrolaEngine(mbrola_manifest, voices=["us1"]).synthesize("hello there", rng(4))
    male = tts.MbrolaEngine(mbrola_manifest, voices=["us2"]).synthesize("hello there", rng(4))
    assert dominant_pitch(female) > 1.3 * dominant_pitch(male)
    # a text that looks like an option is spoken, not parsed
    clips, kept, n_skipped = tts.synthesize_texts(["-v leading dash", "hello there"], [mbrola], rng(3))
    assert n_skipped == 0 and kept == ["-v leading dash", "hello there"]


def dominant_pitch(clip: np.ndarray) -> float:
    """The median autocorrelation pitch (Hz) of the voiced 40 ms frames of ``clip``."""
    x = clip.astype(np.float64) / 32768.0
    frame, pitches = int(0.04 * SAMPLE_RATE), []
    for start in range(0, len(x) - frame, frame):
        f = x[start : start + frame] - x[start : start + frame].mean()
        if np.sqrt(np.mean(f**2)) < 0.02:
            continue
        ac = np.correlate(f, f, "full")[frame - 1 :]
        lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            pitches.append(SAMPLE_RATE / lag)
    return float(np.median(pitches))


@pytest.fixture(scope="module")
def pico_manifest() -> Path:
    return fetched("pico", tts.fetch_pico)


def test_pico_synthesis_is_seeded_and_varies(pico_manifest):
    engines, skipped = tts.available_engines([{"name": "pico", "manifest": str(pico_manifest)}], heldout=False)
    pico = engines[0]
    assert not skipped and pico.voices == ["en-US", "en-GB"]
    a = pico.synthesize("hey saga", rng(1))
    assert a.dtype == np.int16 and 0.3 * SAMPLE_RATE < len(a) < 3 * SAMPLE_RATE and np.abs(a).max() > 3000
    pico.synthesize("something else in between", rng(7))  # the engine's state must not carry over
    assert np.array_equal(a, pico.synthesize("hey saga", rng(1)))
    settings = [pico.settings(rng(s)) for s in range(30)]
    assert {s["voice"] for s in settings} == {"en-US", "en-GB"}
    assert len({s["pitch"] for s in settings}) > 10 and len({s["speed"] for s in settings}) > 10
    slow = pico.synthesize("hey saga how are you", rng(2), {"length_scale": (1.35, 1.35)})
    fast = pico.synthesize("hey saga how are you", rng(2), {"length_scale": (0.75, 0.75)})
    assert len(slow) > 1.4 * len(fast)
    high = pico.synthesize("hello there", rng(4), {"pitch": (80.0, 80.0)})
    low = pico.synthesize("hello there", rng(4), {"pitch": (20.0, 20.0)})
    assert dominant_pitch(high) > 1.3 * dominant_pitch(low)
    # markup characters in a text are spoken around, never parsed
    clips, kept, n_skipped = tts.synthesize_texts(["<speed level='20'> & more", "hello there"], [pico], rng(3))
    assert n_skipped == 0 and abs(len(clips[0]) - len(pico.synthesize(" speed level='20'  and more", rng(9)))) < 0.5 * SAMPLE_RATE
    with pytest.raises(WakeforgeError, match="pico has no voice de-DE"):
        tts.PicoEngine(pico_manifest, voices=["de-DE"])


def _pico_library(path):
    from wakeforge.pico import PicoLibrary

    return PicoLibrary(path, path.parent)


def _rhvoice_library(path):
    from wakeforge.rhvoice import RHVoiceLibrary

    return RHVoiceLibrary(path, path.parent, path.parent)


@pytest.mark.parametrize(
    "name, package, library, load",
    [("pico", "libttspico0", "libttspico.so.0", _pico_library), ("rhvoice", "rhvoice-english", "libRHVoice.so.5", _rhvoice_library)],
)
def test_unavailable_library_engine_is_skipped_and_a_bad_library_explained(tmp_path, name, package, library, load):
    manifest = tmp_path / f"{name}.json"
    write_json(manifest, {"name": name, "available": False, "reason": f"Debian package {package}: HTTP 404"})
    engines, skipped = tts.available_engines(["espeak", {"name": name, "manifest": str(manifest)}])
    assert [e.name for e in engines] == ["espeak"] and skipped == [f"{name}: Debian package {package}: HTTP 404"]
    (tmp_path / library).write_bytes(b"not a library")
    with pytest.raises(WakeforgeError, match=f"cannot load .*{library}"):
        load(tmp_path / library)


@pytest.fixture(scope="module")
def rhvoice_manifest() -> Path:
    return fetched("rhvoice", tts.fetch_rhvoice)


def test_rhvoice_voices_and_heldout_split(rhvoice_manifest):
    assert debian.read_manifest(rhvoice_manifest)["voices"] == ["alan", "bdl", "clb", "evgeniy-eng", "lyubov", "slt"]
    train, _ = tts.available_engines([{"name": "rhvoice", "manifest": str(rhvoice_manifest)}], heldout=False)
    test, _ = tts.available_engines([{"name": "rhvoice", "manifest": str(rhvoice_manifest)}], heldout=True)
    assert train[0].voices == ["alan", "bdl", "clb", "lyubov", "slt"] and test[0].voices == ["evgeniy-eng"]
    with pytest.raises(WakeforgeError, match="rhvoice has no voice mary"):
        tts.RhvoiceEngine(rhvoice_manifest, voices=["mary"])


def test_rhvoice_synthesis_is_seeded_and_varies(rhvoice_manifest):
    engines, skipped = tts.available_engines([{"name": "rhvoice", "manifest": str(rhvoice_manifest)}], heldout=False)
    rh = engines[0]
    assert not skipped
    a = rh.synthesize("hey saga", rng(1))
    assert a.dtype == np.int16 and 0.3 * SAMPLE_RATE < len(a) < 3 * SAMPLE_RATE and np.abs(a).max() > 3000
    rh.synthesize("something else in between", rng(7))
    assert np.array_equal(a, rh.synthesize("hey saga", rng(1)))
    settings = [rh.settings(rng(s)) for s in range(40)]
    assert {s["voice"] for s in settings} == set(rh.voices)
    # the speed and pitch factors reach the voice: one voice, extremes of the ranges
    slt = tts.RhvoiceEngine(rhvoice_manifest, voices=["slt"])
    slow = slt.synthesize("hey saga how are you", rng(2), {"length_scale": (1.35, 1.35)})
    fast = slt.synthesize("hey saga how are you", rng(2), {"length_scale": (0.75, 0.75)})
    assert len(slow) == pytest.approx(1.8 * len(fast), rel=0.1)
    high = slt.synthesize("hello there", rng(4), {"pitch": (80.0, 80.0)})
    low = slt.synthesize("hello there", rng(4), {"pitch": (20.0, 20.0)})
    assert dominant_pitch(high) > 1.3 * dominant_pitch(low)
    clips, kept, n_skipped = tts.synthesize_texts(["<b>markup</b> & more", "hello there"], [rh], rng(3))
    assert n_skipped == 0 and all(len(c) > 0.2 * SAMPLE_RATE for c in clips)
