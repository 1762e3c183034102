"""Shared fixtures: a few real Piper clips (16 kHz int16), made once per session."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def piper_clips() -> list[np.ndarray]:
    """Three real utterances from the embedded Piper voice, 16 kHz int16."""
    from wakeforge.seeding import rng_for
    from wakeforge.tts import available_engines, synthesize_texts

    engines, _ = available_engines(["piper"])
    clips, _, skipped = synthesize_texts(["hey saga", "hello there how are you", "the weather is nice"], engines, rng_for(0, "conftest"))
    assert skipped == 0
    return clips
