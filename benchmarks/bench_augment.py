"""Augmentation speed: wakeforge's batched augmenter against openWakeWord's recipe, same run, same data.

openWakeWord's ``augment_clips`` (openwakeword/data.py, v0.5/0.6) takes each clip on its own:
pad it to the window (speech ending 0-200 ms before the end), then audiomentations
``SevenBandParametricEQ(-6..6 dB, p=0.25)`` and ``TanhDistortion(0.0001..0.10, p=0.25)``, then
torch-audiomentations ``PitchShift(-3..3 semitones, p=0.25)``, ``BandStopFilter(p=0.25)``,
``AddColoredNoise(SNR 10..30 dB, f_decay -1..2, p=0.25)``, ``AddBackgroundNoise(SNR -10..15 dB,
p=0.75)``, ``Gain(max 0 dB, p=1)``, then a room impulse response (p=0.5).

torch-audiomentations needs torchaudio, which cannot be installed beside torch 2.13, so the reference
here is the same chain, clip by clip, in the maintained CPU library audiomentations: its PitchShift
with ``method="librosa_phase_vocoder"`` (phase-vocoder stretch and resampling, the algorithm
torch-audiomentations uses; here also a little faster than audiomentations' default stretcher), its
coloured-noise decay in dB/octave (f_decay -1..2 is +3.01..-6.02 dB/octave), Gain -18..0 dB
(torch-audiomentations' default minimum). Backgrounds and impulse responses are read from memory:
audiomentations' two file-based transforms get the arrays through small subclasses (same draws and
scaling), so file reading is timed on neither side.

Ours runs with :class:`wakeforge.augment.AugmentSettings` set to the same probabilities and ranges
(so the effects have the same distributions; the order differs a little: ours is pitch, distortion,
EQ, band-stop, room, background, coloured noise, then a random peak level of -20..-1 dBFS instead
of a random gain), on the same clips (64 real Piper utterances, synthesised once and cached),
impulse responses (16 simulated rooms) and backgrounds (8 x 30 s of synthetic noise, hum, fan and
babble), 2 s windows. Ours runs on 2 threads (and, for information, on 1); both sides are timed
``--repeats`` times, alternately, and the best time of each counts. Usage::

    python benchmarks/bench_augment.py [--clips 1024] [--reference-clips 256] [--repeats 3] [--device cpu|cuda]

``run(...)`` returns the numbers as a dict (for a ``pytest -m benchmark`` wrapper); ``main()``
prints them.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("WAKEFORGE_BENCH_CACHE", "/tmp/wf/bench_augment"))
CLIP_SAMPLES = 32000
THREADS = 2
SPEECH_CLIPS = 64
TEXTS = [
    "hey saga", "okay computer", "turn on the lights", "what time is it", "play some music",
    "hello there how are you", "the weather is nice today", "set a timer for ten minutes",
    "call my mother", "open the garage door", "remind me to buy milk", "how far is the moon",
    "stop", "next song please", "good morning", "read my messages",
]


def set_threads(n: int = THREADS) -> None:
    """Limit numpy's BLAS / OpenMP pools and torch to ``n`` threads (call before heavy imports)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    import torch

    torch.set_num_threads(n)


def prepare_data(cache: Path = CACHE) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Speech clips (int16), impulse responses and backgrounds (float32), made once and cached."""
    from wakeforge.assets import simulate_rooms, synthesize_background
    from wakeforge.audio import read_audio
    from wakeforge.seeding import rng_for

    cache.mkdir(parents=True, exist_ok=True)
    speech_path = cache / "speech.npz"
    if not speech_path.exists():
        from wakeforge.tts import available_engines, synthesize_texts

        engines, _ = available_engines(["piper"])
        texts = [TEXTS[i % len(TEXTS)] for i in range(SPEECH_CLIPS)]
        clips, _, _ = synthesize_texts(texts, engines, rng_for(0, "bench-augment"))
        np.savez(speech_path, *clips)
    with np.load(speech_path) as z:
        clips = [z[k] for k in sorted(z.files, key=lambda k: int(k.split("_")[1]))]
    if not (cache / "rirs").exists():
        simulate_rooms(cache / "rirs.tmp", 16, rng_for(0, "bench-rooms"))
        (cache / "rirs.tmp").rename(cache / "rirs")
    if not (cache / "background").exists():
        synthesize_background(cache / "background.tmp", rng_for(0, "bench-background"), 8, 30.0, babble_clips=clips)
        (cache / "background.tmp").rename(cache / "background")
    rirs = [read_audio(p) for p in sorted((cache / "rirs").glob("*.wav"))]
    backgrounds = [read_audio(p) for p in sorted((cache / "background").glob("*.wav"))]
    return clips, rirs, backgrounds


# ---------------------------------------------------------------------------------------------
# The reference: openWakeWord's chain, clip by clip, in audiomentations.


def reference_chain(rirs: list[np.ndarray], backgrounds: list[np.ndarray], cache: Path = CACHE):
    """openWakeWord's effect chain as audiomentations transforms (a callable ``(clip, sr) -> clip``)."""
    import audiomentations as am
    from audiomentations.core.utils import calculate_desired_noise_rms, calculate_rms

    class MemoryBackground(am.AddBackgroundNoise):
        """AddBackgroundNoise drawing from in-memory arrays (same parameter draws, no file reads)."""

        def randomize_parameters(self, samples, sample_rate):
            am.core.transforms_interface.BaseWaveformTransform.randomize_parameters(self, samples, sample_rate)
            if self.parameters["should_apply"]:
                self.parameters["snr_db"] = random.uniform(self.min_snr_db, self.max_snr_db)
                self.parameters["index"] = random.randint(0, len(backgrounds) - 1)
                spare = max(0, len(backgrounds[self.parameters["index"]]) - len(samples))
                self.parameters["offset"] = random.randint(0, spare)

        def apply(self, samples, sample_rate):
            start = self.parameters["offset"]
            noise = backgrounds[self.parameters["index"]][start : start + len(samples)]
            while len(noise) < len(samples):
                noise = np.concatenate((noise, noise))
            noise = noise[: len(samples)]
            desired = calculate_desired_noise_rms(calculate_rms(samples), self.parameters["snr_db"])
            return samples + noise * (desired / max(calculate_rms(noise), 1e-9))

    class MemoryImpulseResponse(am.ApplyImpulseResponse):
        """ApplyImpulseResponse convolving with in-memory arrays (same draw and scaling, no file reads)."""

        def __init__(self, p):
            am.core.transforms_interface.BaseWaveformTransform.__init__(self, p)
            self.leave_length_unchanged = True

        def randomize_parameters(self, samples, sample_rate):
            am.core.transforms_interface.BaseWaveformTransform.randomize_parameters(self, samples, sample_rate)
            if self.parameters["should_apply"]:
                self.parameters["index"] = random.randrange(len(rirs))

        def apply(self, samples, sample_rate):
            from scipy.signal import convolve

            wet = convolve(samples, rirs[self.parameters["index"]])
            wet *= 0.5 / max(float(np.abs(wet).max()), 1e-9)
            return wet[: len(samples)].astype(np.float32)

    db_per_octave = 10 * np.log10(2)  # torch-audiomentations f_decay 1 (pink) is -3.01 dB/octave
    return am.Compose([
        am.SevenBandParametricEQ(min_gain_db=-6.0, max_gain_db=6.0, p=0.25),
        am.TanhDistortion(min_distortion=0.0001, max_distortion=0.10, p=0.25),
        am.PitchShift(min_semitones=-3.0, max_semitones=3.0, method="librosa_phase_vocoder", p=0.25),
        am.BandStopFilter(p=0.25),
        am.AddColorNoise(min_snr_db=10.0, max_snr_db=30.0, min_f_decay=-2.0 * db_per_octave, max_f_decay=1.0 * db_per_octave, p=0.25),
        MemoryBackground(sounds_path=str(next((cache / "background").glob("*.wav"))), min_snr_db=-10.0, max_snr_db=15.0, p=0.75),
        am.Gain(min_gain_db=-18.0, max_gain_db=0.0, p=1.0),
        MemoryImpulseResponse(p=0.5),
    ])


def create_fixed_size_clip(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """openWakeWord's placement: ``x`` in a zero window of ``n`` samples, ending 0-200 ms before its end."""
    out = np.zeros(n, dtype=np.float32)
    pad = int(rng.uniform(0, 0.2) * 16000)
    x = x[max(0, len(x) + pad - n) :]
    out[n - pad - len(x) : n - pad] = x
    return out


def warm_up(chain, clips_pcm: list[np.ndarray]) -> None:
    """Run every transform of ``chain`` once (their first calls import and compile: librosa, numba)."""
    from wakeforge.audio import to_float

    x = create_fixed_size_clip(to_float(clips_pcm[0]), CLIP_SAMPLES, np.random.default_rng(0))
    for transform in chain.transforms:
        p, transform.p = transform.p, 1.0
        transform(x, sample_rate=16000)
        transform.p = p


def run_reference(clips_pcm: list[np.ndarray], chain, n_clips: int, seed: int = 0) -> np.ndarray:
    """Augment ``n_clips`` clips (cycling through ``clips_pcm``) clip by clip; int16 rows."""
    from wakeforge.audio import to_float, to_pcm

    rng = np.random.default_rng(seed)
    random.seed(seed)
    np.random.seed(seed)
    out = np.zeros((n_clips, CLIP_SAMPLES), dtype=np.int16)
    for i in range(n_clips):
        x = create_fixed_size_clip(to_float(clips_pcm[i % len(clips_pcm)]), CLIP_SAMPLES, rng)
        out[i] = to_pcm(chain(x, sample_rate=16000))
    return out


# ---------------------------------------------------------------------------------------------
# Ours, with the reference's probabilities and ranges.


def matching_settings():
    """AugmentSettings with openWakeWord's probabilities and ranges."""
    from wakeforge.augment import AugmentSettings

    return AugmentSettings(
        end_jitter_s=0.2,
        eq_probability=0.25,
        eq_gain_db=(-6.0, 6.0),
        distortion_probability=0.25,
        distortion_amount=(0.0001, 0.10),
        pitch_probability=0.25,
        pitch_semitones=(-3.0, 3.0),
        bandstop_probability=0.25,
        color_noise_probability=0.25,
        color_noise_snr_db=(10.0, 30.0),
        color_noise_exponent=(-2.0, 1.0),  # power ~ f**exponent: f_decay -1..2
        background_probability=0.75,
        snr_db=(-10.0, 15.0),
        peak_dbfs=(-20.0, -1.0),
        rir_probability=0.5,
    )


def run_wakeforge(clips_pcm, rirs, backgrounds, n_clips: int, device: str = "cpu", seed: int = 0, threads: int = THREADS) -> np.ndarray:
    """Augment ``n_clips`` clips (cycling through ``clips_pcm``) with wakeforge's batched augmenter."""
    from wakeforge.augment import Augmenter

    augmenter = Augmenter(matching_settings(), rirs, backgrounds, device=device, threads=threads)
    clips = [clips_pcm[i % len(clips_pcm)] for i in range(n_clips)]
    out, _ = augmenter.augment(clips, CLIP_SAMPLES, np.random.default_rng(seed), "end")
    return out


def best_rate(fn, n_clips: int, repeats: int) -> float:
    """Clips per second of the fastest of ``repeats`` calls of ``fn()`` (each augmenting ``n_clips``)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_clips / best


def run(clips: int = 1024, device: str = "cpu", reference_clips: int = 256, repeats: int = 3) -> dict:
    """Time the reference and ours on the same data (alternating, best of ``repeats`` each): clips/s
    of the reference, of ours on ``THREADS`` threads and on one, the ratio (``THREADS`` threads),
    the load average, and ours on CUDA when asked for and present."""
    set_threads()
    speech, rirs, backgrounds = prepare_data()
    chain = reference_chain(rirs, backgrounds)
    warm_up(chain, speech)
    run_wakeforge(speech, rirs, backgrounds, 64, "cpu")
    reference = ours = ours_1 = 0.0
    for _ in range(repeats):
        reference = max(reference, best_rate(lambda: run_reference(speech, chain, reference_clips), reference_clips, 1))
        ours = max(ours, best_rate(lambda: run_wakeforge(speech, rirs, backgrounds, clips, "cpu"), clips, 1))
        ours_1 = max(ours_1, best_rate(lambda: run_wakeforge(speech, rirs, backgrounds, clips, "cpu", threads=1), clips, 1))
    result = {"reference": reference, "wakeforge": ours, "ratio": ours / reference, "wakeforge_1_thread": ours_1, "load": os.getloadavg()[0]}
    if device == "cuda":
        import torch

        if torch.cuda.is_available():
            run_wakeforge(speech, rirs, backgrounds, 64, "cuda")
            result["wakeforge_cuda"] = best_rate(lambda: run_wakeforge(speech, rirs, backgrounds, clips, "cuda"), clips, repeats)
        else:
            print("cuda asked for but torch sees no GPU: GPU run skipped", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> dict:
    """Command line: print the clips/s of both and the ratio; returns :func:`run`'s numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=1024, help="clips augmented by ours per timing (default 1024)")
    parser.add_argument("--reference-clips", type=int, default=256, help="clips augmented by the (slower) reference per timing (default 256)")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each side, alternating; the best counts (default 3)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda: also time ours on the GPU")
    args = parser.parse_args(argv)
    r = run(args.clips, args.device, args.reference_clips, args.repeats)
    print(
        f"augment: reference {r['reference']:.1f} clips/s, wakeforge {r['wakeforge']:.1f} clips/s, ratio {r['ratio']:.1f}x "
        f"(target >= 5x; {THREADS} threads; on 1 thread {r['wakeforge_1_thread']:.1f} clips/s, "
        f"{r['wakeforge_1_thread'] / r['reference']:.1f}x; load average {r['load']:.1f} on {os.cpu_count()} cores)"
    )
    if "wakeforge_cuda" in r:
        print(f"augment: wakeforge on cuda {r['wakeforge_cuda']:.1f} clips/s ({r['wakeforge_cuda'] / r['reference']:.1f}x the reference)")
    return r


if __name__ == "__main__":
    main()
