"""Augmentation: variable-length 16 kHz speech clips -> fixed-length, realistic training clips.

In: int16 speech clips, a list of room impulse responses and background recordings (16 kHz),
the clip length and the effect settings (the config's ``augmentation`` block).
Out: an ``(n_clips * rounds, clip_samples)`` int16 array plus the source index of each row.

Placement follows openWakeWord: positives (and adversarial phrases, which must look like them)
end near the end of the window, as a streaming detector sees a phrase that has just been said;
general speech is cropped or placed anywhere. Effects, in order: pitch shift, tanh distortion,
seven-band EQ and band-stop (speaker and microphone variety), room impulse response, background
at a random SNR, coloured noise, random peak level. Pitch shift moves pitch and formants together
(a smaller or larger speaker; the TTS stage's voice change moves them apart).

Clips go through in blocks of ``block_size`` rows, each block one ``(rows, samples)`` array: numpy
and scipy on the CPU (blocks on ``threads`` threads), or torch tensors on a GPU (the same code: the
few calls that differ are in ``_Backend``). Every random choice of a block is drawn first from the
shard's ``numpy.random.Generator``, so the output depends only on the seed, the block size and (by
float rounding) the device.

Hand-written here, because the libraries work one clip at a time (audiomentations reruns an IIR
filter or a stretcher on every clip, which is most of the time openWakeWord's recipe takes):

* EQ, band-stop and room impulse response are one FFT convolution per clip (rows grouped into
  three FFT sizes). EQ and band-stop parameters are drawn as audiomentations'
  ``SevenBandParametricEQ`` and ``BandStopFilter`` draw them; the EQ's biquads (its W3C cookbook
  formulas) run on a unit impulse (scipy's ``sosfilt``) and the band-stop's response is the closed
  form of what ``scipy.signal.butter`` designs, giving a 4096-sample impulse response;
  impulse-response spectra are kept between blocks.
* Pitch shift is a phase vocoder (vectorised over rows, but run row by row on each clip's speech
  span alone: fewer frames, faster) that moves STFT bins by the pitch ratio and rebuilds their phases from
  the moved instantaneous frequencies: duration and level are kept, as with audiomentations'
  ``PitchShift``. Phases are locked to each frame's magnitude peaks, so the moved bins of one
  partial still add up.
* Mixing at an SNR (over the speech's active samples), coloured noise (shaped complex Gaussian
  spectra) and the peak level are a few array operations on the whole block.

The per-clip helpers (``place``, ``apply_rir``, ``mix_at_snr``, ``colored_noise``,
``random_segment``) serve the stream builder and the asset generators.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.signal import fftconvolve

from .audio import INT16_MAX, SAMPLE_RATE, read_audio, to_float
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
# A sentence placed by its onset (AugmentSettings.onset_fraction) starts this long before the window's
# end: the windows where false accepts happen, a pause and then the first syllables of speech.
ONSET_SECONDS = (0.3, 1.6)
# One asset in this many (per kind) is held out of training, for test clips and the stream.
HELDOUT_EVERY = 5
POOLS = ("train", "heldout", "all")


def is_heldout_asset(index: int) -> bool:
    """Whether the ``index``-th file of a kind (in path order) is in the held-out pool."""
    return index % HELDOUT_EVERY == HELDOUT_EVERY - 1


# At most this much audio of one pool is loaded by one job (about 460 MB of float32; the embedded
# tier has under 2 h): with the full tier's hours of AudioSet and FMA, each job takes its own seeded
# subset instead of all of it.
MAX_POOL_SECONDS = 7200.0

# Clips per block: small blocks keep the CPU's arrays in cache (a few MB each; 32 was 40% slower).
BLOCK_SIZE = 16
# an augmented row's ``source``: its clip's index in the shard + shard * SHARD_STRIDE
SHARD_STRIDE = 10_000_000
# Length of the EQ and band-stop impulse responses (256 ms: they have decayed by then).
IIR_SAMPLES = 4096
# Impulse-response spectra kept between blocks (about 0.2 MB each for 2 s clips).
IR_CACHE_ENTRIES = 512
# Phase-vocoder STFT for the pitch shift (64 ms frames, 4x overlap).
PITCH_FFT = 1024
PITCH_HOP = 256
# audiomentations' SevenBandParametricEQ: a low shelf, five peaks and a high shelf (centre ranges, Hz).
EQ_BANDS = ((42.0, 95.0), (91.0, 204.0), (196.0, 441.0), (421.0, 948.0), (909.0, 2045.0), (1957.0, 4404.0), (4216.0, 9486.0))
EQ_SHELF_Q = (0.1, 0.999)
EQ_PEAK_Q = (0.5, 5.0)
# audiomentations' BandStopFilter defaults: centre (Hz, uniform in mel), width / centre, Butterworth order (12-24 dB/octave).
BANDSTOP_CENTER = (200.0, 4000.0)
BANDSTOP_FRACTION = (0.5, 1.99)
BANDSTOP_ORDER = (2, 4)


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
            if pool == "all" or is_heldout_asset(i) == (pool == "heldout"):
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
    # power spectrum ~ f**exponent: 0 white, -1 pink, -2 brown, +1 blue, +2 violet
    color_noise_exponent: tuple[float, float] = (-2.0, 2.0)
    eq_probability: float = 0.3
    eq_gain_db: tuple[float, float] = (-10.0, 10.0)
    bandstop_probability: float = 0.2
    pitch_probability: float = 0.4
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    distortion_probability: float = 0.0
    distortion_amount: tuple[float, float] = (0.0001, 0.10)
    peak_dbfs: tuple[float, float] = (-20.0, -1.0)
    background_only_fraction: float = 0.0
    onset_fraction: float = 0.0
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


def placements(
    lengths: np.ndarray,
    clip_samples: int,
    rng: np.random.Generator,
    mode: str,
    end_jitter_s: float,
    tail_samples: int = 0,
    onset_fraction: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each speech clip goes in its window: ``(source start, window start, samples)`` per clip.

    ``mode="end"`` ends the speech 0..end_jitter_s before the window's end, less ``tail_samples``
    (keeping the end of a clip that does not fit, as a stream would; the tail holds what a
    streaming detector hears after the phrase); ``mode="random"`` places it anywhere, or takes a
    random crop of a clip longer than the window; with ``onset_fraction``, that share of the clips
    (drawn per clip) instead *starts* :data:`ONSET_SECONDS` before the window's end, after
    silence: the first words of a sentence, heard as a wake word is heard.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if mode == "end":
        jitter = (rng.uniform(0, end_jitter_s, len(lengths)) * SAMPLE_RATE).astype(np.int64)
        pad = np.minimum(jitter + tail_samples, clip_samples)
        count = np.minimum(lengths, clip_samples - pad)
        return lengths - count, clip_samples - pad - count, count
    if mode == "random":
        long = lengths >= clip_samples
        offset = rng.integers(0, np.abs(lengths - clip_samples) + 1)
        src, dst, count = np.where(long, offset, 0), np.where(long, 0, offset), np.minimum(lengths, clip_samples)
        if onset_fraction > 0:  # drawn only then: without it the draws (and clips) are as before
            onset = rng.random(len(lengths)) < onset_fraction
            heard = np.minimum((rng.uniform(*ONSET_SECONDS, len(lengths)) * SAMPLE_RATE).astype(np.int64), clip_samples)
            src = np.where(onset, 0, src)
            dst = np.where(onset, clip_samples - heard, dst)
            count = np.where(onset, np.minimum(lengths, heard), count)
        return src, dst, count
    raise ValueError(f"unknown placement mode {mode!r}")


def place(speech_16k: np.ndarray, clip_samples: int, rng: np.random.Generator, mode: str, end_jitter_s: float) -> np.ndarray:
    """Put speech into a zero window (see :func:`placements` for ``mode``)."""
    out = np.zeros(clip_samples, dtype=np.float32)
    (src,), (dst,), (n,) = placements(np.array([len(speech_16k)]), clip_samples, rng, mode, end_jitter_s)
    out[dst : dst + n] = speech_16k[src : src + n]
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



# ---------------------------------------------------------------------------------------------
# Batched effects on (rows, samples) float32 arrays: numpy arrays (CPU) or torch tensors (GPU).
# One implementation serves both: the operations used have the same names and positional
# arguments in numpy and torch; _Backend covers the few that differ.


class _Backend:
    """Array creation, FFTs and conversions for numpy (``device="cpu"``) or torch (any other device,
    including ``torch.device("cpu")``, which runs the torch code on the CPU)."""

    def __init__(self, device):
        self.device = device
        self.torch = not (isinstance(device, str) and device == "cpu")
        if self.torch:
            import torch

            self.xp, self.fft = torch, torch.fft
        else:
            import scipy.fft

            self.xp, self.fft = np, scipy.fft

    def asarray(self, a, complex_: bool = False):
        """A numpy array (parameters, audio) as float32 (complex64) on this backend."""
        dtype = np.complex64 if complex_ else np.float32
        a = np.ascontiguousarray(a, dtype=dtype)
        if self.torch:
            import torch

            return torch.from_numpy(a).to(self.device)
        return a

    def index(self, rows: np.ndarray):
        """Row indices (or a boolean mask) for this backend's arrays."""
        return self.xp.as_tensor(rows, device=self.device) if self.torch else rows

    def numpy(self, a) -> np.ndarray:
        """A backend array as a numpy array."""
        return a.cpu().numpy() if self.torch else a

    def polar(self, magnitude, phase):
        """magnitude * exp(j phase)."""
        if self.torch:
            return self.xp.polar(magnitude, phase)
        out = np.empty(magnitude.shape, dtype=np.complex64)
        np.multiply(magnitude, np.cos(phase), out=out.real)
        np.multiply(magnitude, np.sin(phase), out=out.imag)
        return out

    def row_quantile(self, a, q: np.ndarray):
        """Per-row quantile ``q`` (0..1) of ``a``, nearest rank: numpy's introselect, or a sort on torch."""
        rank = np.round(np.asarray(q) * (a.shape[1] - 1)).astype(np.int64)
        if self.torch:
            return a.sort(dim=1).values.gather(1, self.index(rank)[:, None])[:, 0]
        return np.array([np.partition(row, k)[k] for row, k in zip(a, rank)], dtype=np.float32)

    def cumsum_(self, a):
        """Running sum over axis 1, in place (numpy's cumsum is slower than a loop over that axis)."""
        if self.torch:
            return a.cumsum_(1)
        for t in range(1, a.shape[1]):
            a[:, t] += a[:, t - 1]
        return a

    def count_above(self, x, threshold: float):
        """Samples of each row above ``threshold`` in magnitude."""
        if self.torch:
            return (x.abs() > threshold).sum(1)
        return np.count_nonzero(np.abs(x) > threshold, axis=1)

    def mix_rows(self, x, rows: np.ndarray, noise, level: np.ndarray, unit: bool = True) -> None:
        """``x[rows[j]] += noise[j] * level[j]``, noise rows scaled to unit RMS first unless ``unit``
        says they are. ``noise``: a list of numpy rows or an array; on numpy a loop over views, no copies."""
        if self.torch:
            noise = self.asarray(np.stack(noise)) if isinstance(noise, list) else noise
            scale = self.asarray(level)
            x[self.index(rows)] += noise * (scale if unit else scale / _rms_rows(noise, self))[:, None]
            return
        for j, r in enumerate(rows):
            scale = level[j] if unit else level[j] / np.sqrt(np.dot(noise[j], noise[j]) / len(noise[j]) + EPS)
            x[r] += noise[j] * np.float32(scale)

    def peak(self, x):
        """Largest magnitude of each row."""
        if self.torch:
            return x.abs().amax(1)
        return np.maximum(x.max(1), -x.min(1))

    def to_pcm(self, x, gain) -> np.ndarray:
        """Rows times ``gain`` (per row) -> int16 PCM (clipped, rounded), as :func:`wakeforge.audio.to_pcm`."""
        pcm = x * (gain * INT16_MAX)[:, None]
        if self.torch:
            return pcm.clamp_(-INT16_MAX, INT16_MAX).round_().to(self.xp.int16).cpu().numpy()
        np.clip(pcm, -INT16_MAX, INT16_MAX, out=pcm)
        return np.rint(pcm, out=pcm).astype(np.int16)


def default_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"`` (numpy)."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _mel_uniform(lo: float, hi: float, size, rng: np.random.Generator) -> np.ndarray:
    """Frequencies drawn uniformly on the mel scale between ``lo`` and ``hi`` Hz (as audiomentations does)."""
    mel = rng.uniform(2595.0 * np.log10(1.0 + lo / 700.0), 2595.0 * np.log10(1.0 + hi / 700.0), size)
    return 700.0 * (10 ** (mel / 2595.0) - 1.0)


def rbj_biquad(kind: str, freq: np.ndarray, gain_db: np.ndarray, q: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators ``(..., 3)`` (a0 = 1) of ``"low"`` shelf, ``"peak"`` or ``"high"`` shelf
    biquads from the W3C Audio EQ Cookbook, as audiomentations' filters compute them (centre kept below Nyquist)."""
    w0 = 2 * np.pi * np.minimum(freq, sample_rate // 2 * 0.9999) / sample_rate
    a, cw = 10 ** (np.asarray(gain_db) / 40), np.cos(w0)
    alpha = np.sin(w0) / 2 / q
    sq = 2 * np.sqrt(a) * alpha
    if kind == "peak":
        b, d = [1 + alpha * a, -2 * cw, 1 - alpha * a], [1 + alpha / a, -2 * cw, 1 - alpha / a]
    elif kind in ("low", "high"):
        sign = 1 if kind == "low" else -1  # the high shelf is the low shelf with cos w0 -> -cos w0 and b1, a1 negated
        c = sign * cw
        b = [a * ((a + 1) - (a - 1) * c + sq), sign * 2 * a * ((a - 1) - (a + 1) * c), a * ((a + 1) - (a - 1) * c - sq)]
        d = [(a + 1) + (a - 1) * c + sq, -sign * 2 * ((a - 1) + (a + 1) * c), (a + 1) + (a - 1) * c - sq]
    else:
        raise ValueError(f"unknown biquad kind {kind!r}")
    b, d = np.stack(b, axis=-1), np.stack(d, axis=-1)
    return b / d[..., :1], d / d[..., :1]


def bandstop_response(center: np.ndarray, fraction: np.ndarray, order: np.ndarray, omega: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Frequency response ``(rows, len(omega))`` of Butterworth band-stop filters, each the one
    ``scipy.signal.butter(order, [center - width / 2, center + width / 2], "bandstop", fs=sample_rate)``
    designs (width = fraction * center; the upper edge kept below Nyquist, as audiomentations does).

    That filter is the analog prototype 1 / prod_k (1 - s / p_k) (Butterworth poles p_k on the unit
    circle) at s = j bw W / (w0^2 - W^2) (low-pass to band-stop) and W = 2 fs tan(w / 2) (bilinear).
    """
    lo = center * (1 - fraction / 2)
    hi = np.minimum(center * (1 + fraction / 2), sample_rate // 2 * 0.9999)
    wl, wh = (2 * sample_rate * np.tan(np.pi * f / sample_rate) for f in (lo, hi))
    big_w = 2 * sample_rate * np.tan(np.minimum(omega, np.pi * 0.999999) / 2)
    gap = (wl * wh)[:, None] - big_w**2
    y = np.clip((wh - wl)[:, None] * big_w / np.where(gap == 0, 1e-30, gap), -1e6, 1e6)
    k = np.arange(int(order.max()))
    angle = np.pi * (2 * k[None, :] + order[:, None] + 1) / (2 * order[:, None])
    inv_pole = np.where(k[None, :] < order[:, None], np.exp(-1j * angle), 0.0)  # 1 / p_k; 0 pads
    return 1.0 / (1.0 - 1j * y[:, None, :] * inv_pole[:, :, None]).prod(axis=1)


def _frames(x, n_fft: int, hop: int, be: _Backend):
    """Zero-padded frames ``(rows, frames, n_fft)`` of ``x``, every sample of ``x`` in n_fft / hop of them."""
    rows, n = x.shape
    per = n_fft // hop
    pad = (per - 1) * hop
    padded = be.xp.concatenate([be.asarray(np.zeros((rows, pad))), x, be.asarray(np.zeros((rows, pad + (-n) % hop)))], axis=1)
    blocks = padded.reshape(rows, -1, hop)
    count = blocks.shape[1] - per + 1
    return be.xp.concatenate([blocks[:, j : j + count] for j in range(per)], axis=2)


def _overlap_add(frames, n: int, hop: int, be: _Backend):
    """Inverse of :func:`_frames` for frames already multiplied by the synthesis window."""
    rows, count, n_fft = frames.shape
    per = n_fft // hop
    out = be.asarray(np.zeros((rows, count + per - 1, hop)))
    for j in range(per):
        out[:, j : j + count] += frames[:, :, j * hop : (j + 1) * hop]
    return out.reshape(rows, -1)[:, (per - 1) * hop : (per - 1) * hop + n]


@functools.lru_cache(maxsize=64)
def _fft_size(target: int) -> int:
    """The smallest 2^a 3^b 5^c >= ``target`` with b, c <= 3: scipy's ``next_fast_len`` also takes factors
    7 and 11 or many 3s, and such sizes (44100, 52488) ran 5-25% slower here than these (46080, 54000)."""
    sizes = (m << max(0, math.ceil(math.log2(target / m))) for m in (3**b * 5**c for b in range(4) for c in range(4)))
    return min(n for n in sizes if n >= target)


@functools.lru_cache(maxsize=4)
def _pitch_windows(n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Analysis window (periodic Hann) and synthesis window (the same over the overlapping squares' sum)."""
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    return window, window / np.float32(np.sum(window**2) / hop)


@functools.lru_cache(maxsize=64)
def _bin_centre_phase(frames: int, bins: int, n_fft: int, hop: int) -> np.ndarray:
    """Phase bin k's centre frequency gains in t + 1 hops, ``(frames, bins)``: 2 pi (k (t + 1) hop mod n_fft) / n_fft."""
    turns = (np.arange(1, frames + 1)[:, None] * np.arange(bins)[None, :] * hop) % n_fft
    return (turns * (2 * np.pi / n_fft)).astype(np.float32)


def _nearest_peaks(mag: np.ndarray) -> np.ndarray:
    """Per frame of ``mag`` (..., bins), the bin of the peak nearest each bin (a peak: at least its left
    neighbour and above its right one); in a frame without a peak each bin is its own."""
    bins = mag.shape[-1]
    k = np.arange(bins)
    peak = np.zeros(mag.shape, dtype=bool)
    peak[..., 1:-1] = (mag[..., 1:-1] >= mag[..., :-2]) & (mag[..., 1:-1] > mag[..., 2:])
    before = np.maximum.accumulate(np.where(peak, k, -bins), axis=-1)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(peak, k, 2 * bins), -1), axis=-1), -1)
    nearest = np.where(k - before <= after - k, before, after)
    return np.where(peak.any(axis=-1, keepdims=True), nearest, k)


def pitch_shift(x, semitones: np.ndarray, be: _Backend, n_fft: int = PITCH_FFT, hop: int = PITCH_HOP):
    """Shift the pitch of each row of ``x`` by its ``semitones``, keeping its duration (phase vocoder).

    Output bin k takes the magnitude found at bin k / ratio (linear interpolation) and the
    instantaneous frequency of the nearest bin, times the ratio; its phase is the running sum of
    that frequency over frames (bin k's centre frequency summed exactly, from integers, plus the
    rest), then locked to the frame's magnitude peaks (see below). Each row keeps its RMS.
    """
    xp = be.xp
    window, synthesis = _pitch_windows(n_fft, hop)
    spec = be.fft.rfft(_frames(x, n_fft, hop, be) * be.asarray(window), n_fft, 2)  # (rows, frames, bins)
    mag, phase = xp.abs(spec), xp.arctan2(spec.imag, spec.real)
    rows, frames, bins = mag.shape
    k = np.arange(bins)
    centre = 2 * np.pi * hop / n_fft * k  # phase advance per hop at each bin's centre frequency
    dev = xp.diff(phase, 1, 1, prepend=be.asarray(np.zeros((rows, 1, bins)))) - be.asarray(centre)
    dev -= 2 * np.pi * xp.round(dev * (1 / (2 * np.pi)))  # advance beyond the centre's (first frame: its phase, less that)

    ratio = 2.0 ** (np.asarray(semitones, dtype=np.float64) / 12.0)
    src = k[None, :] / ratio[:, None]  # (rows, bins): where each output bin reads; beyond the top: silence
    i0 = np.minimum(np.floor(src), bins - 2).astype(np.int64)
    w1 = np.where(src <= bins - 1, src - i0, 0.0)
    w0 = np.where(src <= bins - 1, 1 - w1, 0.0)
    nearest = np.minimum(np.round(src), bins - 1).astype(np.int64)
    offset = ratio[:, None] * centre[nearest] - centre[None, :]  # ratio x the source bin's centre, beyond this bin's
    for r in range(rows):  # each row's bin map is the same in every frame
        mag[r] = mag[r][:, be.index(i0[r])] * be.asarray(w0[r]) + mag[r][:, be.index(i0[r] + 1)] * be.asarray(w1[r])
        dev[r] = dev[r][:, be.index(nearest[r])] * float(ratio[r]) + be.asarray(offset[r])
    phase = be.cumsum_(dev) + be.asarray(_bin_centre_phase(frames, bins, n_fft, hop))
    # identity phase locking: each bin takes its nearest peak's phase, less pi per bin from it (the
    # phase slope of a Hann-windowed partial whose frame starts at 0), so that the bins of one partial
    # add up; phases run separately per bin cancel a partial where moved bins share one source bin
    near = _nearest_peaks(be.numpy(mag))
    slope = (-np.pi * (k - near)).astype(np.float32)
    if be.torch:
        phase = phase.gather(-1, be.index(near)) + be.asarray(slope)
    else:
        phase = np.take_along_axis(phase, near, -1) + slope
    out = be.fft.irfft(be.polar(mag, phase), n_fft, 2)
    y = _overlap_add(out * be.asarray(synthesis), x.shape[1], hop, be)
    return y * (_rms_rows(x, be) / _rms_rows(y, be))[:, None]


def tanh_distortion(x, amount: np.ndarray, be: _Backend):
    """audiomentations' TanhDistortion per row: tanh with the gain that puts the (100 - 99 * amount)th
    percentile of |x| at 0.5, then the row's RMS restored."""
    xp = be.xp
    threshold = be.row_quantile(xp.abs(x[:, ::4]), (100 - 99 * np.asarray(amount)) / 100)  # every 4th sample: close enough
    y = xp.tanh(x * (0.5 / (threshold + 1e-6))[:, None])
    before, after = _rms_rows(x, be), _rms_rows(y, be)
    return y * xp.where(before > 1e-9, before / (after + 1e-12), 1.0)[:, None]


def _energy_rows(x, be: _Backend):
    """Sum of squares of each row."""
    return be.xp.einsum("ij,ij->i", x, x)


def _rms_rows(x, be: _Backend):
    """RMS of each row (as :func:`rms`)."""
    return (_energy_rows(x, be) / x.shape[1] + EPS) ** 0.5


def _levels(x, be: _Backend) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``x``: its RMS and its RMS over the samples above 1e-4 in magnitude, or all of them
    when none is (:func:`mix_at_snr`'s speech level; the samples left out add at most 1e-8 each to
    the energy, so the energy is the whole row's)."""
    energy, count = be.numpy(_energy_rows(x, be)).astype(np.float64), be.numpy(be.count_above(x, 1e-4))
    return np.sqrt(energy / x.shape[1] + EPS), np.sqrt(energy / np.where(count > 0, count, x.shape[1]) + EPS)


def colored_noise_rows(n: int, exponents: np.ndarray, rng: np.random.Generator, be: _Backend):
    """Unit-RMS noise rows with power spectra ~ f**exponent (see :func:`colored_noise`): complex Gaussian
    spectra (what the FFT of white noise is; Box-Muller from uniforms, cheaper than normals) shaped,
    no DC, and transformed back."""
    log_f = np.log(np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)[1:] / 1000.0).astype(np.float32)
    shape = (len(exponents), len(log_f) + 1)
    u = rng.random((2, *shape), dtype=np.float32)
    radius = np.sqrt(-2 * np.log(1 - u[0]))  # |z| of a standard complex Gaussian (each part N(0, 1))
    radius[:, 0] = 0.0  # no DC
    radius[:, 1:] *= np.exp(np.asarray(exponents, dtype=np.float32)[:, None] / 2 * log_f)
    spectrum = _Backend("cpu").polar(radius, (2 * np.pi) * u[1])
    noise = be.fft.irfft(be.asarray(spectrum, complex_=True), n, 1)
    return noise / _rms_rows(noise, be)[:, None]


# ---------------------------------------------------------------------------------------------
# The augmenter.


@dataclass
class BlockDraws:
    """Every random choice for one block of clips, one entry per row, drawn before any audio is touched."""

    src: np.ndarray  # placement: speech start, window start, samples
    dst: np.ndarray
    count: np.ndarray
    silent: np.ndarray  # background only, no speech
    pitch: np.ndarray
    semitones: np.ndarray
    distortion: np.ndarray
    distortion_amount: np.ndarray
    eq: np.ndarray
    eq_freq: np.ndarray  # (rows, 7): low shelf, five peaks, high shelf
    eq_gain_db: np.ndarray
    eq_q: np.ndarray
    bandstop: np.ndarray
    bandstop_center: np.ndarray
    bandstop_fraction: np.ndarray
    bandstop_order: np.ndarray
    rir: np.ndarray
    rir_index: np.ndarray
    background: np.ndarray
    background_index: np.ndarray
    background_offset: np.ndarray
    snr_db: np.ndarray
    color: np.ndarray
    color_exponent: np.ndarray
    color_snr_db: np.ndarray
    peak_dbfs: np.ndarray
    noise_seed: int


def draw_block(
    s: AugmentSettings,
    lengths: np.ndarray,
    clip_samples: int,
    mode: str,
    rng: np.random.Generator,
    n_rirs: int,
    background_lengths: Sequence[int],
    tail_samples: int = 0,
) -> BlockDraws:
    """Draw the effects of one block of clips (speech ``lengths``) with the probabilities and ranges of ``s``;
    ``background_lengths`` are the lengths of the backgrounds (at least ``clip_samples`` each);
    ``tail_samples``: see :func:`placements`."""
    rows = len(lengths)

    def coin(p):
        return rng.random(rows) < p

    def uniform(lo_hi, shape=rows):
        return rng.uniform(lo_hi[0], lo_hi[1], shape)

    src, dst, count = placements(lengths, clip_samples, rng, mode, s.end_jitter_s, tail_samples, s.onset_fraction)
    silent = coin(s.background_only_fraction) if mode == "random" else np.zeros(rows, dtype=bool)
    eq_q = uniform(EQ_PEAK_Q, (rows, len(EQ_BANDS)))
    eq_q[:, [0, -1]] = uniform(EQ_SHELF_Q, (rows, 2))
    background_index = rng.integers(0, max(len(background_lengths), 1), rows)
    spare = np.asarray(list(background_lengths) or [clip_samples], dtype=np.int64)[background_index] - clip_samples
    return BlockDraws(
        src=src, dst=dst, count=count, silent=silent,
        pitch=coin(s.pitch_probability), semitones=uniform(s.pitch_semitones),
        distortion=coin(s.distortion_probability), distortion_amount=uniform(s.distortion_amount),
        eq=coin(s.eq_probability), eq_freq=np.stack([_mel_uniform(lo, hi, rows, rng) for lo, hi in EQ_BANDS], axis=1),
        eq_gain_db=uniform(s.eq_gain_db, (rows, len(EQ_BANDS))), eq_q=eq_q,
        bandstop=coin(s.bandstop_probability), bandstop_center=_mel_uniform(*BANDSTOP_CENTER, rows, rng),
        bandstop_fraction=uniform(BANDSTOP_FRACTION), bandstop_order=rng.integers(BANDSTOP_ORDER[0], BANDSTOP_ORDER[1] + 1, rows),
        rir=coin(s.rir_probability) & (n_rirs > 0), rir_index=rng.integers(0, max(n_rirs, 1), rows),
        background=(coin(s.background_probability) | silent) & (len(background_lengths) > 0),
        background_index=background_index, background_offset=rng.integers(0, spare + 1), snr_db=uniform(s.snr_db),
        color=coin(s.color_noise_probability), color_exponent=uniform(s.color_noise_exponent), color_snr_db=uniform(s.color_noise_snr_db),
        peak_dbfs=uniform(s.peak_dbfs), noise_seed=int(rng.integers(0, 2**63 - 1)),
    )  # fmt: skip


def _tile_to(audio: np.ndarray, n: int) -> np.ndarray:
    """``audio`` repeated to at least ``n`` samples (as :func:`random_segment` does for short recordings)."""
    return np.tile(audio, int(np.ceil(n / len(audio))) + 1) if len(audio) < n else audio


class Augmenter:
    """Applies the effect chain to blocks of clips; holds impulse responses and background audio in memory.

    ``device``: ``"cpu"`` (numpy and scipy) or a torch device such as ``"cuda"`` (default: the GPU
    when torch sees one; ``torch.device("cpu")`` runs the torch code on the CPU). ``threads``: blocks
    processed at once on the CPU (the output does not depend on it). ``block_size``: clips per block;
    the output depends on it (through the order of the draws) and, by float rounding, on the device.
    After :meth:`augment`, ``applied`` maps each effect to a boolean per output row and
    ``background_snr_db`` gives each row's background SNR (NaN where there is none).
    """

    EFFECTS = ("silent", "pitch", "distortion", "eq", "bandstop", "rir", "background", "color_noise")

    def __init__(
        self,
        settings: AugmentSettings,
        rirs: Sequence[np.ndarray],
        backgrounds: Sequence[np.ndarray],
        device: str | None = None,
        block_size: int = BLOCK_SIZE,
        threads: int = 1,
    ):
        self.settings = settings
        self.rirs = [to_float(r) for r in rirs if len(r)]
        self.backgrounds = [to_float(b) for b in backgrounds if len(b)]
        self.device = device or default_device()
        self.block_size = block_size
        self.threads = max(1, threads)
        self.applied: dict[str, np.ndarray] = {}
        self._ir_cache: dict[tuple[int, int], object] = {}
        self._ir_lock = threading.Lock()
        if settings.rir_probability > 0 and not self.rirs:
            log.warning("no impulse responses given: room reverberation skipped")
        if settings.background_probability > 0 and not self.backgrounds:
            log.warning("no background audio given: background mixing skipped")

    def augment(
        self,
        clips_pcm: Sequence[np.ndarray],
        clip_samples: int,
        rng: np.random.Generator,
        mode: str,
        rounds: int = 1,
        progress: bool = False,
        tail_samples: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Augment every clip ``rounds`` times: ``(rounds * n, clip_samples)`` int16 and the source index of each row.
        ``tail_samples`` (mode ``"end"``): audio after the phrase, within ``clip_samples``."""
        from concurrent.futures import ThreadPoolExecutor

        from tqdm import tqdm

        n = len(clips_pcm)
        out = np.zeros((rounds * n, clip_samples), dtype=np.int16)
        source = np.tile(np.arange(n, dtype=np.int64), rounds)
        backgrounds = [_tile_to(b, clip_samples) for b in self.backgrounds]
        be = _Backend(self.device)
        starts = range(0, len(out), self.block_size)
        flags: list[dict] = [{}] * len(starts)

        def run(i: int, start: int, speech: list, draws: BlockDraws) -> int:
            out[start : start + len(speech)], flags[i] = self._block(speech, draws, clip_samples, backgrounds, be)
            return len(speech)

        # Draws are made here, in order; blocks then run on ``threads`` threads (numpy and scipy
        # release the GIL), at most 2 * threads blocks in memory.
        workers = 1 if be.torch else self.threads
        with ThreadPoolExecutor(workers) as pool, tqdm(total=len(out), desc="augment", disable=not progress, mininterval=5) as bar:
            pending = []
            for i, start in enumerate(starts):
                speech = [clips_pcm[j] for j in source[start : start + self.block_size]]
                lengths = np.array([len(c) for c in speech], dtype=np.int64)
                draws = draw_block(self.settings, lengths, clip_samples, mode, rng, len(self.rirs), [len(b) for b in backgrounds], tail_samples)
                pending.append(pool.submit(run, i, start, speech, draws))
                while len(pending) >= 2 * workers or (pending and i == len(starts) - 1):
                    bar.update(pending.pop(0).result())
        self.applied = {name: np.concatenate([f[name] for f in flags]) if flags else np.zeros(0, dtype=bool) for name in self.EFFECTS}
        self.background_snr_db = np.concatenate([f["snr_db"] for f in flags]) if flags else np.zeros(0, dtype=np.float32)
        return out, source

    def _block(self, speech: list, d: BlockDraws, n: int, backgrounds: list, be: _Backend) -> tuple[np.ndarray, dict]:
        """One block: ``(rows, n)`` int16 and which effects each row got."""
        x_np = np.zeros((len(speech), n), dtype=np.float32)
        has_speech = (d.count > 0) & ~d.silent
        for i in np.flatnonzero(has_speech):
            x_np[i, d.dst[i] : d.dst[i] + d.count[i]] = to_float(speech[i][d.src[i] : d.src[i] + d.count[i]])
        x = be.asarray(x_np)
        flags = {"silent": d.silent, "pitch": d.pitch & has_speech, "distortion": d.distortion & has_speech}
        flags.update(eq=d.eq & has_speech, bandstop=d.bandstop & has_speech, rir=d.rir & has_speech)

        for i in np.flatnonzero(flags["pitch"]):  # row by row, only where its speech is: fewer frames
            hi = int(d.dst[i] + d.count[i])
            lo = max(0, min(int(d.dst[i]), hi - PITCH_FFT))
            x[i : i + 1, lo:hi] = pitch_shift(x[i : i + 1, lo:hi], d.semitones[i : i + 1], be)
        rows = np.flatnonzero(flags["distortion"])
        if len(rows):
            x[be.index(rows)] = tanh_distortion(x[be.index(rows)], d.distortion_amount[rows], be)
        rows = np.flatnonzero(flags["eq"] | flags["bandstop"] | flags["rir"])
        if len(rows):
            self._filter(x, d, rows, flags, be)

        level, speech_level = _levels(x, be)
        speech_now = level > 1e-4
        flags["background"] = d.background
        # the SNR of each row's background to its speech (NaN: no background, or no speech)
        flags["snr_db"] = np.where(d.background & speech_now, d.snr_db, np.nan).astype(np.float32)
        rows = np.flatnonzero(d.background)
        if len(rows):  # at the drawn SNR to the speech, or at 0.05 RMS without speech
            segments = [backgrounds[d.background_index[i]][d.background_offset[i] : d.background_offset[i] + n] for i in rows]
            be.mix_rows(x, rows, segments, np.where(speech_now[rows], speech_level[rows] / 10 ** (d.snr_db[rows] / 20), 0.05), unit=False)
        rows = np.flatnonzero(d.color | ~speech_now)  # coloured noise, and what may still be silent
        if len(rows):
            level, speech_level = _levels(x[be.index(rows)], be)
            keep = d.color[rows] | (level < 1e-4)
            rows, speech_level = rows[keep], speech_level[keep]
        flags["color_noise"] = np.isin(np.arange(len(speech)), rows)
        if len(rows):  # at the drawn SNR to the speech (and background), or at 0.01 RMS without either
            noise = colored_noise_rows(n, d.color_exponent[rows], np.random.default_rng(d.noise_seed), be)
            be.mix_rows(x, rows, noise, np.where(speech_now[rows], speech_level / 10 ** (d.color_snr_db[rows] / 20), 0.01))
        return be.to_pcm(x, be.asarray(10 ** (d.peak_dbfs / 20)) / (be.peak(x) + EPS)), flags

    def _filter(self, x, d: BlockDraws, rows: np.ndarray, flags: dict, be: _Backend) -> None:
        """Apply EQ, band-stop and impulse response to ``rows`` of ``x`` (in place): one FFT convolution
        each, at one of three sizes: for no impulse response, one up to half the longest, or longer
        (15% faster than one size; more sizes were slower: more and smaller FFT calls and plans)."""
        n, rir = x.shape[1], flags["rir"][rows]
        taps = np.array([len(self.rirs[i]) if r else 0 for i, r in zip(d.rir_index[rows], rir)])
        longest = max((len(r) for r in self.rirs), default=1)  # of the pool: the same sizes in every block
        done = np.zeros(len(rows), dtype=bool)
        for cap in (0, longest // 2, longest):
            group = ~done & (taps <= cap)
            if group.any():
                self._convolve(x, d, rows[group], _fft_size(n + max(cap, 1) + IIR_SAMPLES - 2), flags, be)
            done |= group

    def _convolve(self, x, d: BlockDraws, rows: np.ndarray, nfft: int, flags: dict, be: _Backend) -> None:
        """FFT convolution (size ``nfft``) of ``rows`` of ``x`` with their EQ/band-stop and impulse response,
        in place. Rows are ordered (EQ/band-stop first, by impulse response within) so that each
        spectrum multiplies a contiguous slice."""
        n = x.shape[1]
        iir = flags["eq"][rows] | flags["bandstop"][rows]
        rir = flags["rir"][rows]
        order = np.lexsort((np.where(rir, d.rir_index[rows], -1), ~iir))
        rows, iir, rir = rows[order], iir[order], rir[order]
        ix = be.index(rows)
        spec = be.fft.rfft(x[ix], nfft, 1)
        if iir.any():
            spec[: int(iir.sum())] *= be.fft.rfft(be.asarray(self._iir_impulses(d, rows[iir], flags)), nfft, 1)
        if rir.any():  # then every row here has one (see _filter)
            which = d.rir_index[rows]
            spectra = self._ir_spectra(np.unique(which), nfft, be)
            starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
            for start, stop in zip(starts, np.r_[starts[1:], len(rows)]):
                spec[start:stop] *= spectra[int(which[start])][None, :]
        y = be.fft.irfft(spec, nfft, 1)[:, :n]
        if rir.any():  # reverberant rows keep the level they came in with (as apply_rir does)
            y *= (_rms_rows(x[ix], be) / _rms_rows(y, be))[:, None]
        x[ix] = y

    def _ir_spectra(self, indices: np.ndarray, nfft: int, be: _Backend) -> dict:
        """Spectra (``nfft // 2 + 1`` bins) of the impulse responses ``indices``, cached between blocks."""
        with self._ir_lock:
            spectra = {int(i): self._ir_cache.get((nfft, int(i))) for i in indices}
        missing = [i for i, v in spectra.items() if v is None]
        if missing:
            irs = np.zeros((len(missing), max(len(self.rirs[i]) for i in missing)), dtype=np.float32)
            for j, i in enumerate(missing):
                irs[j, : len(self.rirs[i])] = self.rirs[i]
            new = be.fft.rfft(be.asarray(irs), nfft, 1)
            spectra.update({i: new[j] for j, i in enumerate(missing)})
            with self._ir_lock:
                if len(self._ir_cache) + len(missing) > IR_CACHE_ENTRIES:
                    self._ir_cache.clear()
                self._ir_cache.update({(nfft, i): spectra[i] for i in missing})
        return spectra

    @staticmethod
    def _iir_impulses(d: BlockDraws, rows: np.ndarray, flags: dict) -> np.ndarray:
        """Impulse responses ``(rows, IIR_SAMPLES)`` of the EQ and band-stop filters of ``rows``: the EQ's
        biquads run on an impulse (scipy's sosfilt), the band-stop's response multiplied in (float64)."""
        from scipy.signal import sosfilt

        h = np.zeros((len(rows), IIR_SAMPLES))
        h[:, 0] = 1.0
        eq, bs = flags["eq"][rows], flags["bandstop"][rows]
        if eq.any():
            parts = [
                rbj_biquad(kind, d.eq_freq[rows[eq], band], d.eq_gain_db[rows[eq], band], d.eq_q[rows[eq], band])
                for kind, band in (("low", slice(0, 1)), ("peak", slice(1, 6)), ("high", slice(6, 7)))
            ]
            sos = np.concatenate([np.concatenate([b, a], axis=2) for b, a in parts], axis=1)  # (rows, 7, 6)
            h[eq] = [sosfilt(s, h[0]) for s in sos]  # h[0] is still the unit impulse
        if bs.any():
            r = rows[bs]
            omega = np.linspace(0.0, np.pi, IIR_SAMPLES // 2 + 1)
            response = bandstop_response(d.bandstop_center[r], d.bandstop_fraction[r], d.bandstop_order[r], omega)
            h[bs] = np.fft.irfft(np.fft.rfft(h[bs], axis=1) * response, IIR_SAMPLES, axis=1)
        return h.astype(np.float32)
