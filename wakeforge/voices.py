"""Voice change: new speakers from the few voices the engines have.

In: 16 kHz int16 speech clips, a ``numpy.random.Generator`` and the config's ``tts.voice_change``
block. Out: the same clips, a ``probability`` share of them spoken by another "speaker": formants
scaled by a ratio drawn from ``formant_ratio`` (a longer or shorter vocal tract), the pitch moved to
a median drawn from ``pitch_median_hz`` and its excursions scaled by ``pitch_range``.

This is Praat's "Change gender" (PSOLA resynthesis with a resampled spectral envelope) through the
``praat-parselmouth`` package: about 6 ms a clip. The phase vocoder of the augmentation stage moves
pitch and formants together; this moves them apart, which is what tells speakers apart.
Only training sets are changed: test sets keep the engines' own (held-out) voices.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .audio import SAMPLE_RATE, to_float, to_pcm
from .errors import WakeforgeError

log = logging.getLogger(__name__)

#: Praat's pitch analysis range (Hz) for the voices it changes
PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 500.0


@dataclass(frozen=True)
class VoiceChange:
    """Draw ranges of the config's ``tts.voice_change`` block."""

    probability: float = 0.0
    formant_ratio: tuple[float, float] = (0.87, 1.18)
    pitch_median_hz: tuple[float, float] = (85.0, 260.0)
    pitch_range: tuple[float, float] = (0.6, 1.6)

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> "VoiceChange":
        """From the config's ``tts.voice_change`` block; a range that is not ``[low, high]`` with
        0 < low <= high raises :class:`WakeforgeError` naming its key."""
        cfg = dict(cfg or {})
        settings = cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in cls.__dataclass_fields__})
        for key in ("formant_ratio", "pitch_median_hz", "pitch_range"):
            lo, hi = getattr(settings, key)
            if not 0 < lo <= hi:
                raise WakeforgeError(f"config key tts.voice_change.{key}: expected [low, high] with 0 < low <= high, got {[lo, hi]}")
        return settings


def change_voice(clip: np.ndarray, formant_ratio: float, pitch_median_hz: float, pitch_range: float, seed: int = 0) -> np.ndarray | None:
    """One clip (16 kHz int16) with its formants scaled and its pitch moved (``pitch_median_hz`` 0:
    kept); the same length and peak. ``seed`` seeds Praat's random generator (its resynthesis of
    unvoiced stretches draws noise). None where Praat cannot change it (no voiced frame, say)."""
    import parselmouth
    from parselmouth.praat import call, run

    x = to_float(clip).astype(np.float64)
    if len(x) < SAMPLE_RATE // 10 or not np.any(x):
        return None
    run(f"random_initializeWithSeedUnsafelyButPredictably({int(seed)})")
    try:
        with warnings.catch_warnings():
            # "no voiced segments": the formants still move; one warning per such clip is noise
            warnings.simplefilter("ignore", parselmouth.PraatWarning)
            changed = call(parselmouth.Sound(x, SAMPLE_RATE), "Change gender", PITCH_FLOOR_HZ, PITCH_CEILING_HZ, formant_ratio, pitch_median_hz, pitch_range, 1.0)
    except parselmouth.PraatError:
        return None
    y = changed.values[0]
    y = np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]  # PSOLA may add or drop a few samples
    peak = np.abs(y).max()
    if not np.isfinite(peak) or peak == 0:
        return None
    y *= np.abs(x).max() / peak
    return to_pcm(y)


def change_voices(clips: Sequence[np.ndarray], rng: np.random.Generator, settings: VoiceChange) -> tuple[list[np.ndarray], np.ndarray]:
    """Apply :func:`change_voice` to a ``settings.probability`` share of ``clips``; returns the clips and,
    per clip, its formant ratio (NaN: unchanged, drawn or not). All draws come from ``rng``, one set
    per clip; clips Praat cannot change stay as they are (counted in the log)."""
    n = len(clips)
    ratios = np.full(n, np.nan)
    if settings.probability <= 0 or n == 0:
        return list(clips), ratios
    chosen = rng.random(n) < settings.probability
    formant = rng.uniform(*settings.formant_ratio, n)
    median = rng.uniform(*settings.pitch_median_hz, n)
    spread = rng.uniform(*settings.pitch_range, n)
    seeds = rng.integers(0, 2**31 - 1, n)
    out = list(clips)
    failed = 0
    for i in np.flatnonzero(chosen):
        changed = change_voice(clips[i], float(formant[i]), float(median[i]), float(spread[i]), int(seeds[i]))
        if changed is None:
            failed += 1
            continue
        out[i], ratios[i] = changed, formant[i]
    if failed:
        log.info("voice change: %d of %d clips had no voice Praat could change and stay as they were", failed, int(chosen.sum()))
    return out, ratios
