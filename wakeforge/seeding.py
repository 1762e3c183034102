"""Deterministic random generators: every random choice flows from the config's one ``seed``.

``rng_for(seed, "tts", "positive_train", 3)`` gives the same stream for the same keys on every
machine and run, and independent streams for different keys (shards never share draws).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_key(*keys: object) -> int:
    """A process-independent 64-bit integer for a tuple of keys (Python's ``hash`` is salted)."""
    digest = hashlib.sha256("\x1f".join(str(k) for k in keys).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator seeded from the config seed and a stage/set/shard key path."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), stable_key(*keys)]))


def child_seed(seed: int, *keys: object) -> int:
    """A 32-bit integer seed (for libraries that take an int, such as torch) from the same key path."""
    return int(rng_for(seed, *keys).integers(0, 2**31 - 1))
