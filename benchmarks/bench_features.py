"""Feature extraction speed: wakeforge's FeatureExtractor against openWakeWord's own embed_clips.

Both run in this process on the same two-second clips (real Piper speech over noise), with the
same frontend models and the same thread count. The reference is
``openwakeword.utils.AudioFeatures(..., inference_framework="onnx", ncpu=T).embed_clips(x, ncpu=T)``.
Prints clips per second of each, their ratio (target: >= 3x on 2 CPU cores), and the largest
difference between the outputs (target: <= 1e-4). Working memory is measured with tracemalloc for
two clip counts: it is bounded by one block of clips, not by the number of clips.

    python benchmarks/bench_features.py [--clips 512] [--threads 2] [--device cpu|cuda]
        [--backend auto|onnxruntime|torch] [--repeats 3]

On a GPU without onnxruntime's CUDA build, ``--device cuda`` runs ours through torch
(wakeforge.onnx_torch) and the reference on its CPU fallback.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np

from wakeforge.features import FeatureExtractor


def frontend_dir() -> Path:
    import openwakeword

    return Path(openwakeword.__file__).parent / "resources" / "models"


def make_clips(n: int, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """``n`` int16 clips: Piper speech at random offsets and levels over noise."""
    from wakeforge.seeding import rng_for
    from wakeforge.tts import available_engines, synthesize_texts

    engines, _ = available_engines(["piper"])
    texts = ["hey saga", "hello there", "turn on the lights", "what time is it"]
    speech, _, _ = synthesize_texts(texts, engines, rng_for(seed, "bench-features"))
    rng = np.random.default_rng(seed)
    samples = int(seconds * 16000)
    out = (rng.standard_normal((n, samples)) * rng.uniform(30, 3000, (n, 1))).astype(np.float32)
    for row in out:
        s = speech[int(rng.integers(len(speech)))].astype(np.float32)[:samples]
        start = int(rng.integers(0, samples - len(s) + 1))
        row[start : start + len(s)] += s * rng.uniform(0.1, 1.0)
    return np.clip(out, -32768, 32767).astype(np.int16)


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def working_memory(fx: FeatureExtractor, clips: np.ndarray) -> int:
    """Peak bytes allocated during embed_clips, beyond its input and output."""
    tracemalloc.start()
    out = fx.embed_clips(clips)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - out.nbytes


def run(n_clips: int = 512, threads: int = 2, device: str = "cpu", repeats: int = 3, backend: str = "auto") -> dict:
    from openwakeword.utils import AudioFeatures

    d = frontend_dir()
    clips = make_clips(n_clips)
    ours = FeatureExtractor(d / "melspectrogram.onnx", d / "embedding_model.onnx", threads=threads, device=device, backend=backend)
    ref = AudioFeatures(
        melspec_model_path=str(d / "melspectrogram.onnx"),
        embedding_model_path=str(d / "embedding_model.onnx"),
        inference_framework="onnx",
        ncpu=threads,
        device="gpu" if device == "cuda" else "cpu",
    )
    ours.embed_clips(clips[:32]), ref.embed_clips(clips[:32], ncpu=threads)  # warm-up
    t_ref, out_ref = best_of(lambda: ref.embed_clips(clips, batch_size=128, ncpu=threads), repeats)
    t_ours, out_ours = best_of(lambda: ours.embed_clips(clips), repeats)
    result = {
        "clips": n_clips,
        "threads": threads,
        "device": ours.providers[0],
        "reference_clips_per_s": n_clips / t_ref,
        "wakeforge_clips_per_s": n_clips / t_ours,
        "ratio": t_ref / t_ours,
        "max_abs_diff": float(np.max(np.abs(out_ref - out_ours))),
        "working_memory_mb": {n: working_memory(ours, clips[:n]) / 2**20 for n in (n_clips // 4, n_clips)},
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["auto", "onnxruntime", "torch"], default="auto")
    a = parser.parse_args()
    r = run(a.clips, a.threads, a.device, a.repeats, a.backend)
    mem = ", ".join(f"{n} clips {mb:.1f} MB" for n, mb in r["working_memory_mb"].items())
    print(
        f"features ({r['clips']} two-second clips, {r['threads']} threads, {r['device']}): "
        f"openWakeWord embed_clips {r['reference_clips_per_s']:.0f} clips/s, wakeforge {r['wakeforge_clips_per_s']:.0f} clips/s, "
        f"ratio {r['ratio']:.2f}x (target >= 3x); max |difference| {r['max_abs_diff']:.2g} (target <= 1e-4); "
        f"working memory: {mem}"
    )


if __name__ == "__main__":
    main()
