"""The negative validation stream: hours of audio in which the wake phrase is never said.

In: general speech clips (int16, 16 kHz; sentences the training negatives did not use), held-out
impulse responses and background recordings. Out: one long int16 array alternating speech
passages (sentences with natural gaps, sped up or slowed down by up to 12 % for other-sounding
voices, sometimes in a room, over background at a random SNR) and background-only passages,
so false accepts per hour cover talk, noise and music.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .audio import SAMPLE_RATE, resample, to_float, to_pcm
from .augment import apply_rir, colored_noise, mix_at_snr, random_segment
from .errors import WakeforgeError

BLOCK_SECONDS = 30.0
BACKGROUND_ONLY_FRACTION = 0.2
GAP_SECONDS = (0.2, 2.5)
# Speed perturbation (pitch and tempo together, as in Kaldi's 0.9/1.1 recipe): other-sounding speakers.
SPEED_FACTOR = (0.88, 1.12)
SNR_DB = (0.0, 20.0)


def _speech_block(
    clips: Sequence[np.ndarray], n: int, next_clip: int, rng: np.random.Generator, placed: list | None = None
) -> tuple[np.ndarray, int]:
    """Sentences one after another with random pauses, filling ``n`` samples; ``placed`` (when
    given) gets ``(clip index, start, end)`` of each sentence in the block."""
    block = np.zeros(n, dtype=np.float32)
    pos = int(rng.uniform(*GAP_SECONDS) * SAMPLE_RATE)
    while pos < n:
        clip = to_float(clips[next_clip % len(clips)])
        take = min(len(clip), n - pos)
        block[pos : pos + take] = clip[:take]
        if placed is not None:
            placed.append((next_clip % len(clips), pos, pos + take))
        next_clip += 1
        pos += take + int(rng.uniform(*GAP_SECONDS) * SAMPLE_RATE)
    return block, next_clip


def _background_block(backgrounds: Sequence[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """Background alone: a recording at a random circular offset, so a file as long as a block
    does not repeat identically (one odd sound would otherwise count once per repeat)."""
    audio = to_float(backgrounds[int(rng.integers(len(backgrounds)))])
    return random_segment(np.roll(audio, int(rng.integers(len(audio)))), n, rng)


def build_stream(
    clips: Sequence[np.ndarray],
    rirs: Sequence[np.ndarray],
    backgrounds: Sequence[np.ndarray],
    hours: float,
    rng: np.random.Generator,
    parts: int = 1,
    sentences: list | None = None,
) -> np.ndarray:
    """Assemble ``hours`` of negative audio from 30 s blocks (int16, 16 kHz).

    When the clips run out they are used again, in other blocks: with other neighbours, speed,
    room, background and level, so a stream can hold more hours than the sentences synthesised
    for it. ``parts`` splits the clips into that many disjoint groups and builds an equal share
    of the hours from each, one after another: with ``parts=3`` the three thirds of the stream
    (:func:`wakeforge.metrics.split_stream`: selection, calibration, report) never share a sentence.
    ``sentences`` (when given) gets ``(start, end, clip index)`` in samples of the stream for every
    sentence placed, the index into ``clips``: what was said when a model fires.
    """
    kept = [i for i, c in enumerate(clips) if len(c)]
    clips = [clips[i] for i in kept]
    if len(clips) < parts:
        raise WakeforgeError(
            f"the stream needs speech clips for each of its {parts} parts, got {len(clips)}: check tts settings and validation.speech_hours"
        )
    total_n = int(round(hours * 3600 * SAMPLE_RATE))
    groups = np.array_split(np.arange(len(clips)), parts)
    shares = np.diff(np.linspace(0, total_n, parts + 1).round().astype(int))
    audio = np.empty(total_n, dtype=np.int16)  # each part written in place: hours of audio held once
    offset = 0
    for g, n in zip(groups, shares):
        placed = [] if sentences is not None else None
        _build(clips[g[0] : g[-1] + 1], rirs, backgrounds, audio[offset : offset + n], rng, placed)
        if placed is not None:
            sentences.extend((offset + a, offset + b, kept[g[0] + i]) for i, a, b in placed)
        offset += int(n)
    return audio


def _build(
    clips: Sequence[np.ndarray],
    rirs: Sequence[np.ndarray],
    backgrounds: Sequence[np.ndarray],
    out: np.ndarray,
    rng: np.random.Generator,
    placed: list | None = None,
) -> None:
    """Fill ``out`` (int16) with stream from 30 s blocks, the last one cut short; ``placed`` (when
    given) gets ``(clip index, start, end)`` of each sentence in these samples (after the block's
    speed change)."""
    total_n = len(out)
    block_n = int(BLOCK_SECONDS * SAMPLE_RATE)
    n_blocks = max(1, int(np.ceil(total_n / block_n)))
    next_clip = 0
    for b in range(n_blocks):
        if backgrounds and rng.random() < BACKGROUND_ONLY_FRACTION:
            block = _background_block(backgrounds, block_n, rng)
        else:
            in_block = [] if placed is not None else None
            block, next_clip = _speech_block(clips, block_n, next_clip, rng, in_block)
            rate = int(round(SAMPLE_RATE * rng.uniform(*SPEED_FACTOR)))
            block = resample(block, rate, SAMPLE_RATE)[:block_n]
            if placed is not None:  # read at ``rate`` and played at 16 kHz: times scale by 16000 / rate
                start, scale, end = b * block_n, SAMPLE_RATE / rate, min(block_n, total_n - b * block_n)
                placed.extend((i, start + int(a * scale), start + min(end, int(e * scale))) for i, a, e in in_block if a * scale < end)
            block = np.pad(block, (0, block_n - len(block)))
            if rirs and rng.random() < 0.5:
                block = apply_rir(block, to_float(rirs[int(rng.integers(len(rirs)))]))
            noise = (
                random_segment(to_float(backgrounds[int(rng.integers(len(backgrounds)))]), block_n, rng)
                if backgrounds
                else colored_noise(block_n, rng.uniform(-2, 0), rng)
            )
            block = mix_at_snr(block, noise, rng.uniform(*SNR_DB))
        peak = float(np.max(np.abs(block))) + 1e-9
        block = block * (10 ** (rng.uniform(-20, -3) / 20) / peak)
        out[b * block_n : (b + 1) * block_n] = to_pcm(block)[: total_n - b * block_n]
