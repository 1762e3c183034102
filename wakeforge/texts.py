"""Text lists for synthesis: positive phrasings, line files, shard slices, phrase matching.

In: the target phrase and text files (one utterance a line). Out: lists of strings.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

import numpy as np

from .audio import atomic_path
from .errors import WakeforgeError

# Punctuation changes how a TTS voice says a phrase (a question rises, an exclamation stresses).
POSITIVE_TEMPLATES = ("{p}", "{p}.", "{p}!", "{p}?", "{p},", "{P}.", "{first}, {rest}.", "{p}...")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def positive_texts(phrase: str, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` spellings of the phrase with varied punctuation and capitalisation (all say the same words)."""
    words = _words(phrase)
    if not words:
        raise WakeforgeError(f"config key target_phrase: {phrase!r} has no words")
    p = " ".join(words)
    fields = {"p": p, "P": p.capitalize(), "first": words[0], "rest": " ".join(words[1:]) or words[0]}
    templates = [t for t in POSITIVE_TEMPLATES if len(words) > 1 or "{first}" not in t]
    return [templates[int(i)].format(**fields) for i in rng.integers(0, len(templates), n)]


def contains_phrase(text: str, phrase: str) -> bool:
    """True when ``text`` says the phrase's words in order, as whole words."""
    target = _words(phrase)
    words = _words(text)
    return any(words[i : i + len(target)] == target for i in range(len(words) - len(target) + 1))


def drop_phrase(rows: np.ndarray, texts: Sequence[str], phrase: str) -> tuple[np.ndarray, int]:
    """Rows of a phrase-independent negative set whose text does not say ``phrase``, and how many were dropped."""
    says = np.array([contains_phrase(str(t), phrase) for t in texts], dtype=bool)
    return rows[~says], int(says.sum())


def write_lines(path: str | os.PathLike, lines: Sequence[str]) -> None:
    """Write one text a line, atomically."""
    with atomic_path(path, ".txt") as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line.replace("\n", " ").strip() + "\n")


def read_lines(path: str | os.PathLike) -> list[str]:
    """Read a text list written by :func:`write_lines` (blank lines dropped)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [line.strip() for line in fh if line.strip()]
    except OSError as exc:
        raise WakeforgeError(f"cannot read text list {path}: {exc}") from exc


def shard_slice(items: Sequence, shard: int, n_shards: int) -> list:
    """The ``shard``-th of ``n_shards`` contiguous, near-equal slices of ``items``."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    bounds = np.linspace(0, len(items), n_shards + 1).round().astype(int)
    return list(items[bounds[shard] : bounds[shard + 1]])
