"""Audio boundary: reading, resampling to 16 kHz mono, and clip-set storage.

Every sample-rate conversion in wakeforge happens here. Inside the library audio is
16 kHz mono, either float32 in [-1, 1] (``*_16k`` arrays) or int16 PCM (``*_pcm``).

Clip sets (many variable-length clips) are stored as one ``.npz`` per shard holding
``audio`` (all clips concatenated, int16), ``offsets`` (int64, len = n_clips + 1) and
``texts`` (what each clip says, or a label), written atomically.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
import soxr

from .errors import WakeforgeError

SAMPLE_RATE = 16000
INT16_MAX = 32767


def resample(audio: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """Resample float audio (1-D) from ``sr_in`` to ``sr_out`` Hz with soxr (high quality)."""
    audio = np.asarray(audio, dtype=np.float32)
    if sr_in == sr_out:
        return audio
    return soxr.resample(audio, sr_in, sr_out, quality="HQ").astype(np.float32)


def to_float(audio: np.ndarray) -> np.ndarray:
    """int16 PCM (or float) -> float32 in [-1, 1]."""
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / INT16_MAX
    return np.asarray(audio, dtype=np.float32)


def to_pcm(audio_16k: np.ndarray) -> np.ndarray:
    """float audio in [-1, 1] -> int16 PCM, clipping anything outside."""
    return (np.clip(audio_16k, -1.0, 1.0) * INT16_MAX).round().astype(np.int16)


def read_audio(path: str | os.PathLike) -> np.ndarray:
    """Read any file soundfile understands (wav, flac, ogg, mp3) as 16 kHz mono float32."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for unreadable files
        raise WakeforgeError(f"cannot read audio file {path}: {exc}") from exc
    return resample(data.mean(axis=1), sr)


def write_wav(path: str | os.PathLike, audio_16k: np.ndarray) -> None:
    """Write 16 kHz mono audio as 16-bit PCM wav, atomically."""
    with atomic_path(path, ".wav") as tmp:
        sf.write(tmp, to_float(np.asarray(audio_16k)), SAMPLE_RATE, subtype="PCM_16", format="WAV")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The file gets the permissions a plain ``open`` would give (``mkstemp`` makes it owner-only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp" + suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` through a temporary file and a rename, so no half-written array is ever consumed."""
    with atomic_path(path, ".npy") as tmp:
        np.save(tmp, array)


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """``np.savez`` (uncompressed), atomically."""
    with atomic_path(path, ".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write JSON (indented), atomically."""
    import json

    with atomic_path(path, ".json") as tmp, open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)


def save_clips(
    path: str | os.PathLike,
    clips: Sequence[np.ndarray],
    texts: Sequence[str] | None = None,
    engines: Sequence[str] | None = None,
) -> None:
    """Store variable-length clips (int16 PCM or float in [-1, 1]) as one ``.npz``, atomically,
    with each clip's text and (optionally) the name of the engine that spoke it."""
    pcm = [c if c.dtype == np.int16 else to_pcm(c) for c in clips]
    offsets = np.zeros(len(pcm) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in pcm])
    audio = np.concatenate(pcm) if pcm else np.zeros(0, dtype=np.int16)
    texts_arr = np.array(list(texts) if texts is not None else [""] * len(pcm), dtype=str)
    if len(texts_arr) != len(pcm):
        raise ValueError("save_clips: texts and clips differ in length")
    extra = {}
    if engines is not None:
        if len(engines) != len(pcm):
            raise ValueError("save_clips: engines and clips differ in length")
        extra["engines"] = np.array(list(engines), dtype=str)
    save_npz(path, audio=audio, offsets=offsets, texts=texts_arr, **extra)


def load_clips(path: str | os.PathLike) -> tuple[list[np.ndarray], list[str]]:
    """Load a clip set written by :func:`save_clips`: (list of int16 clips, list of texts)."""
    try:
        with np.load(str(path)) as data:
            audio, offsets, texts = data["audio"], data["offsets"], data["texts"]
    except (OSError, KeyError, ValueError) as exc:
        raise WakeforgeError(f"cannot read clip set {path}: {exc}") from exc
    clips = [audio[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    return clips, [str(t) for t in texts]


def load_clip_engines(path: str | os.PathLike) -> list[str] | None:
    """The engine name of each clip in a clip set, or None when the set does not record them
    (imported recordings)."""
    try:
        with np.load(str(path)) as data:
            return [str(e) for e in data["engines"]] if "engines" in data.files else None
    except (OSError, ValueError) as exc:
        raise WakeforgeError(f"cannot read clip set {path}: {exc}") from exc


def load_clip_sets(paths: Sequence[str | os.PathLike]) -> tuple[list[np.ndarray], list[str]]:
    """Concatenate several clip-set shards in the order given."""
    clips: list[np.ndarray] = []
    texts: list[str] = []
    for p in paths:
        c, t = load_clips(p)
        clips.extend(c)
        texts.extend(t)
    return clips, texts
