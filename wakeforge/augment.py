"""Augmentation: variable-length 16 kHz speech clips -> fixed-length, realistic training clips.

In: int16 speech clips, a list of room impulse responses and background recordings (16 kHz wavs),
the clip length and the effect settings (the config's ``augmentation`` block).
Out: an ``(n_clips * rounds, clip_samples)`` int16 array plus the source index of each row.

Placement follows openWakeWord: positives (and adversarial phrases, which must look like them)
end near the end of the window, as a streaming detector sees a phrase that has just been said;
general speech is cropped or placed anywhere. Effects, in order: pitch shift, EQ, band-stop
(speaker and microphone variety, from audiomentations), room impulse response (FFT convolution),
background at a random SNR, coloured noise, random gain.

audiomentations draws from Python's and numpy's global generators; each clip reseeds them from
the shard's ``numpy.random.Generator``, so a shard's output depends only on the config seed.
RIR, background, noise and gain are written here with numpy/scipy because they read our asset
arrays (kept in memory once per shard) rather than re-reading files for every clip.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.signal import fftconvolve

from .audio import SAMPLE_RATE, read_audio, to_float, to_pcm
from .errors import WakeforgeError

log = logging.getLogger(__name__)

# openWakeWord's rule for the training window: median positive length + 750 ms, at least 2 s.
PAD_SECONDS = 0.75
MIN_CLIP_SECONDS = 2.0
# Windows are whole 80 ms streaming chunks, so a clip ends exactly where a streaming frame ends.
CHUNK_SAMPLES = 1280
EPS = 1e-10
# General speech is phrase-independent, so it gets the minimum window (its features are reused).
GENERAL_CLIP_SAMPLES = int(MIN_CLIP_SECONDS * SAMPLE_RATE)
# One asset in this many (per kind) is held out of training, for test clips and the stream.
HELDOUT_EVERY = 5
POOLS = ("train", "heldout", "all")


# At most this much audio of one pool is loaded by one job (about 460 MB of float32; the embedded
# tier has under 2 h): with the full tier's hours of AudioSet and FMA, each job takes its own seeded
# subset instead of all of it.
MAX_POOL_SECONDS = 7200.0


def pool_entries(manifest_path: str, pool: str) -> list:
    """Manifest entries in the ``train`` or ``heldout`` pool (every 5th file of each kind is held out)."""
    from .assets import read_manifest

    if pool not in POOLS:
        raise ValueError(f"unknown asset pool {pool!r}")
    by_kind: dict[str, list] = {}
    for entry in sorted(read_manifest(manifest_path), key=lambda e: str(e.path)):
        by_kind.setdefault(entry.kind, []).append(entry)
    chosen = []
    for entries in by_kind.values():
        for i, entry in enumerate(entries):
            heldout = len(entries) > 1 and i % HELDOUT_EVERY == HELDOUT_EVERY - 1
            if pool == "all" or heldout == (pool == "heldout"):
                chosen.append(entry)
    return chosen


def pool_paths(manifest_path: str, pool: str) -> list:
    """Files of an asset manifest in the ``train`` or ``heldout`` pool."""
    return [e.path for e in pool_entries(manifest_path, pool)]


def load_pool(
    manifest_path: str, pool: str, rng: np.random.Generator | None = None, max_seconds: float = MAX_POOL_SECONDS
) -> list[np.ndarray]:
    """The audio (16 kHz float32) of an asset pool; above ``max_seconds`` in all, a random subset
    drawn with ``rng`` (a fixed order without one) that fits in ``max_seconds``."""
    entries = pool_entries(manifest_path, pool)
    if sum(e.seconds for e in entries) > max_seconds:
        order = rng.permutation(len(entries)) if rng is not None else np.arange(len(entries))
        total, keep = 0.0, []
        for i in order:
            if total + entries[i].seconds <= max_seconds or not keep:
                keep.append(int(i))
                total += entries[i].seconds
        entries = [entries[i] for i in sorted(keep)]
    return [read_audio(e.path) for e in entries]


@dataclass
class AugmentSettings:
    """Probabilities and ranges of each effect (mirrors the config's ``augmentation`` block)."""

    end_jitter_s: float = 0.2
    rir_probability: float = 0.5
    background_probability: float = 0.8
    snr_db: tuple[float, float] = (-5.0, 15.0)
    color_noise_probability: float = 0.3
    color_noise_snr_db: tuple[float, float] = (10.0, 40.0)
    eq_probability: float = 0.3
    bandstop_probability: float = 0.2
    pitch_probability: float = 0.4
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    peak_dbfs: tuple[float, float] = (-20.0, -1.0)
    background_only_fraction: float = 0.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: dict) -> "AugmentSettings":
        """Build from the config's ``augmentation`` mapping (unknown keys ignored: the schema checks them)."""
        names = {f for f in cls.__dataclass_fields__ if f != "extra"}
        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in names}
        return cls(**kwargs)


def clip_samples_for(lengths_samples: Sequence[int]) -> int:
    """The training window (samples) for positive clips of the given lengths, whole 80 ms chunks."""
    if len(lengths_samples) == 0:
        raise WakeforgeError("no positive clips were synthesised: check target_phrase and the tts settings")
    seconds = max(MIN_CLIP_SECONDS, float(np.median(lengths_samples)) / SAMPLE_RATE + PAD_SECONDS)
    return int(np.ceil(seconds * SAMPLE_RATE / CHUNK_SAMPLES) * CHUNK_SAMPLES)


def place(speech_16k: np.ndarray, clip_samples: int, rng: np.random.Generator, mode: str, end_jitter_s: float) -> np.ndarray:
    """Put speech into a zero window: ``mode="end"`` ends it 0..end_jitter_s before the window's end;
    ``mode="random"`` places it anywhere (a random crop when longer than the window)."""
    out = np.zeros(clip_samples, dtype=np.float32)
    n = len(speech_16k)
    if mode == "end":
        pad = int(rng.uniform(0, end_jitter_s) * SAMPLE_RATE)
        if n + pad > clip_samples:  # longer than the window: keep its end, as a stream would
            speech_16k = speech_16k[max(0, n + pad - clip_samples) :]
            n = len(speech_16k)
        start = clip_samples - pad - n
        out[start : start + n] = speech_16k
    elif mode == "random":
        if n >= clip_samples:
            start = int(rng.integers(0, n - clip_samples + 1))
            out[:] = speech_16k[start : start + clip_samples]
        else:
            start = int(rng.integers(0, clip_samples - n + 1))
            out[start : start + n] = speech_16k
    else:
        raise ValueError(f"unknown placement mode {mode!r}")
    return out


def rms(x: np.ndarray) -> float:
    """Root mean square of a signal."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + EPS))


def apply_rir(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with an impulse response (FFT), aligned on its direct path, keeping the level."""
    wet = fftconvolve(x, rir, mode="full")[: len(x)].astype(np.float32)
    return wet * (rms(x) / rms(wet))


def random_segment(audio: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``n``-sample segment of ``audio``, tiled when the recording is shorter."""
    if len(audio) < n:
        audio = np.tile(audio, int(np.ceil(n / max(len(audio), 1))) + 1)
    start = int(rng.integers(0, len(audio) - n + 1))
    return audio[start : start + n]


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``signal + noise`` with the noise scaled to the given SNR (signal power over its active part)."""
    active = signal[np.abs(signal) > 1e-4]
    sig_rms = rms(active) if len(active) else rms(signal)
    return signal + noise * (sig_rms / (rms(noise) * 10 ** (snr_db / 20)))


def colored_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with power spectrum ~ f**exponent (0 white, -1 pink, -2 brown, +1 blue, +2 violet):
    white Gaussian noise shaped in the frequency domain, no DC, unit RMS, float32."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, d=1.0 / SAMPLE_RATE)
    gain = np.zeros_like(freqs)
    gain[1:] = (freqs[1:] / 1000.0) ** (exponent / 2)
    shaped = np.fft.irfft(spectrum * gain, n)
    shaped -= shaped.mean()
    return (shaped / (np.sqrt(np.mean(shaped**2)) + EPS)).astype(np.float32)


class Augmenter:
    """Applies the effect chain to clips; holds impulse responses and background audio in memory."""

    def __init__(self, settings: AugmentSettings, rirs: Sequence[np.ndarray], backgrounds: Sequence[np.ndarray]):
        import audiomentations as am  # imported here: it pulls librosa, slow to import

        self.settings = settings
        self.rirs = [to_float(r) for r in rirs if len(r)]
        self.backgrounds = [to_float(b) for b in backgrounds if len(b)]
        s = settings
        self._pitch = am.PitchShift(min_semitones=s.pitch_semitones[0], max_semitones=s.pitch_semitones[1], p=1.0)
        self._eq = am.SevenBandParametricEQ(min_gain_db=-10.0, max_gain_db=10.0, p=1.0)
        self._bandstop = am.BandStopFilter(p=1.0)
        if s.rir_probability > 0 and not self.rirs:
            log.warning("no impulse responses given: room reverberation skipped")
        if s.background_probability > 0 and not self.backgrounds:
            log.warning("no background audio given: background mixing skipped")

    def _library_effects(self, speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Pitch, EQ and band-stop through audiomentations, reseeded from ``rng``."""
        s = self.settings
        seed = int(rng.integers(0, 2**31 - 1))
        random.seed(seed)
        np.random.seed(seed)
        if len(speech) > 2048 and rng.random() < s.pitch_probability:
            speech = self._pitch(speech, SAMPLE_RATE)
        if rng.random() < s.eq_probability:
            speech = self._eq(speech, SAMPLE_RATE)
        if rng.random() < s.bandstop_probability:
            speech = self._bandstop(speech, SAMPLE_RATE)
        return speech.astype(np.float32)

    def augment_one(self, speech_pcm: np.ndarray, clip_samples: int, rng: np.random.Generator, mode: str) -> np.ndarray:
        """One augmented clip (float32, ``clip_samples`` long) from one speech clip."""
        s = self.settings
        silent = mode == "random" and rng.random() < s.background_only_fraction
        speech = to_float(speech_pcm)
        if silent or len(speech) == 0:
            x = np.zeros(clip_samples, dtype=np.float32)
        else:
            speech = self._library_effects(speech, rng)
            x = place(speech, clip_samples, rng, mode, s.end_jitter_s)
            if self.rirs and rng.random() < s.rir_probability:
                x = apply_rir(x, self.rirs[int(rng.integers(len(self.rirs)))])
        has_speech = rms(x) > 1e-4
        if self.backgrounds and (silent or rng.random() < s.background_probability):
            noise = random_segment(self.backgrounds[int(rng.integers(len(self.backgrounds)))], clip_samples, rng)
            if has_speech:
                x = mix_at_snr(x, noise, rng.uniform(*s.snr_db))
            else:
                x = x + noise / (rms(noise) + EPS) * 0.05
        if rng.random() < s.color_noise_probability or not has_speech and rms(x) < 1e-4:
            noise = colored_noise(clip_samples, rng.uniform(-2.0, 2.0), rng)
            x = mix_at_snr(x, noise, rng.uniform(*s.color_noise_snr_db)) if has_speech else x + noise * 0.01
        peak = float(np.max(np.abs(x))) + EPS
        return x * (10 ** (rng.uniform(*s.peak_dbfs) / 20) / peak)

    def augment(
        self,
        clips_pcm: Sequence[np.ndarray],
        clip_samples: int,
        rng: np.random.Generator,
        mode: str,
        rounds: int = 1,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Augment every clip ``rounds`` times: ``(rounds * n, clip_samples)`` int16 and the source index of each row."""
        from tqdm import tqdm

        n = len(clips_pcm)
        out = np.zeros((rounds * n, clip_samples), dtype=np.int16)
        source = np.tile(np.arange(n, dtype=np.int64), rounds)
        rows = tqdm(range(rounds * n), desc="augment", disable=not progress, mininterval=5)
        for row in rows:
            out[row] = to_pcm(self.augment_one(clips_pcm[row % n], clip_samples, rng, mode))
        return out, source
