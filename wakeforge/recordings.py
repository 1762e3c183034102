"""Your own recordings of the wake phrase: extra positives for training and a separate test set.

In: a folder of audio files (wav/flac/ogg/mp3, any rate or channel count, searched recursively).
Out: two clip sets (16 kHz int16, silence trimmed): ``personal_train`` and ``personal_test``,
split by file in a seeded order so that each file is in exactly one of them. The workflow augments
both like the synthetic positives (training rooms and noise for one, held-out ones for the other),
trains on the first and reports recall on the second separately in ``metrics.json``: it says how
the model does on *your* voice, which synthetic test clips cannot.

Unreadable, silent, too short or too long files are skipped with a warning and counted; no usable
file at all is an error naming the config key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .assets import AUDIO_EXTENSIONS
from .audio import SAMPLE_RATE, read_audio, to_pcm
from .errors import WakeforgeError
from .seeding import rng_for
from .tts import trim_silence

log = logging.getLogger(__name__)

MIN_SECONDS = 0.3
MAX_SECONDS = 5.0


def find_recordings(folder: str | os.PathLike) -> list[Path]:
    """Audio files under ``folder`` in sorted order; a missing folder is a config error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WakeforgeError(f"config key personal_recordings.folder: {folder} is not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def load_recordings(paths: list[Path]) -> tuple[list[np.ndarray], list[str], int]:
    """Each usable file as a trimmed 16 kHz int16 clip: ``(clips, names, skipped)``."""
    clips, names, skipped = [], [], 0
    for path in paths:
        try:
            clip = trim_silence(to_pcm(read_audio(path)))
        except WakeforgeError as exc:
            log.warning("skipping %s: %s", path, exc)
            skipped += 1
            continue
        seconds = len(clip) / SAMPLE_RATE
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            log.warning("skipping %s: %.2f s of sound after trimming silence (expected %.1f-%.1f s: one utterance of the phrase)", path, seconds, MIN_SECONDS, MAX_SECONDS)
            skipped += 1
            continue
        clips.append(clip)
        names.append(path.name)
    return clips, names, skipped


def split_recordings(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and test recordings: a seeded shuffle, at least one of each when n >= 2."""
    order = rng_for(seed, "personal_recordings").permutation(n)
    n_test = 0 if n < 2 else min(n - 1, max(1, int(round(n * test_fraction))))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def import_recordings(folder: str | os.PathLike, test_fraction: float, seed: int) -> dict[str, tuple[list[np.ndarray], list[str]]]:
    """``{"personal_train": (clips, names), "personal_test": (clips, names)}`` from a folder."""
    paths = find_recordings(folder)
    clips, names, skipped = load_recordings(paths)
    if skipped:
        log.warning("personal recordings: %d of %d files skipped (see above)", skipped, len(paths))
    if not clips:
        raise WakeforgeError(
            f"config key personal_recordings.folder: no usable recordings in {folder} ({len(paths)} audio files, {skipped} skipped); "
            "record the phrase alone, one utterance per file"
        )
    train, test = split_recordings(len(clips), test_fraction, seed)
    if len(test) == 0:
        log.warning("personal recordings: only one usable file, used for training; record more to get a personal test set")
    log.info("personal recordings: %d for training, %d for testing", len(train), len(test))
    return {
        "personal_train": ([clips[i] for i in train], [names[i] for i in train]),
        "personal_test": ([clips[i] for i in test], [names[i] for i in test]),
    }


#: source ids of the personal recordings' augmented copies are offset by this when they join the
#: synthetic positives, so the held-out split (by source clip) never mixes the two
PERSONAL_SOURCE_OFFSET = 10**12


def with_personal(positive: np.ndarray, source: np.ndarray, personal: np.ndarray | None, personal_source: np.ndarray | None):
    """Positives (and their source ids) with the personal training recordings appended."""
    if personal is None or len(personal) == 0:
        return positive, source
    return np.concatenate([positive, personal]), np.concatenate([source, np.asarray(personal_source) + PERSONAL_SOURCE_OFFSET])
