"""TTS speed: one process (the reference) against shards in parallel processes (the workflow's way).

Both synthesize the same texts with the default Piper voice through the code path of
``scripts/synthesize_clips.py`` (``available_engines`` + ``synthesize_texts`` with the shard's
``rng_for(seed, "tts", ..., shard)``), cut into ``--shards`` contiguous shards (default: 4 per
worker; the default workflow run has 44 shards of up to 500 texts for 2 cores):

* reference: one process, one PiperEngine (``--threads`` intra-op threads, 1 as in the workflow),
  synthesizing the shards one after another;
* ours: ``--workers`` fresh processes (default: one per core; ``spawn``, like separate Snakemake
  jobs), each taking the next shard when it is free, as Snakemake starts the next shard job on a
  free core. ``--shards 2`` gives exactly one shard per process: then the longer shard's extra
  audio (5-10 % with 80 clips) leaves one core idle at the end and lowers the ratio.

Engines are built (and run once) before the clock starts, as a 500-clip shard amortises that
start-up; the start-up seconds are printed as well. Each side is timed ``--repeats`` times,
alternately, and the best time counts. Prints clips per second of each, their ratio (target:
>= 1.8x on 2 cores), the real-time factor (synthesis seconds per second of audio) and whether the
parallel clips are bit-identical to the single-process ones (same seeds -> same clips). When
onnxruntime has the CUDAExecutionProvider, the reference is also run on the GPU.

    python benchmarks/bench_tts.py [--clips 80] [--workers 2] [--shards 8] [--threads 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from typing import Any

import numpy as np

SEED = 1234
PROSODY = {"length_scale": (0.75, 1.35), "noise_scale": (0.4, 0.9), "noise_w_scale": (0.5, 1.1)}
WAKE = ["hey saga", "hey sage a", "okay saga", "hey soggy", "saga", "hey sagan"]
WORDS = (
    "the a kitchen lights turn on off please what time is it weather today tomorrow music play "
    "stop next song call mom set timer for ten minutes open door garage remind me to buy milk "
    "how far is the station tell me a joke volume up down lovely day walk park morning evening"
).split()


def make_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` texts: every third a wake phrase, the rest random 3-12 word sentences."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(WAKE[int(rng.integers(len(WAKE)))])
        else:
            out.append(" ".join(rng.choice(WORDS, size=int(rng.integers(3, 13)))))
    return out


def shards(texts: list[str], n: int) -> list[list[str]]:
    from wakeforge.texts import shard_slice

    return [shard_slice(texts, i, n) for i in range(n)]


def build_engines(threads: int, device: str) -> list:
    from wakeforge.tts import available_engines

    engines, _ = available_engines(["piper"], threads=threads, device=device)
    return engines


def synthesize_shard(engines: list, texts: list[str], shard: int) -> list[np.ndarray]:
    """What ``scripts/synthesize_clips.py`` does for one shard (without writing the .npz)."""
    from wakeforge.seeding import rng_for
    from wakeforge.tts import synthesize_texts

    clips, _, _ = synthesize_texts(texts, engines, rng_for(SEED, "tts", "bench", shard), PROSODY)
    return clips


def machine_cpu_s() -> float:
    """CPU seconds all processes on this machine have used since boot (Linux ``/proc/stat``; NaN elsewhere)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _worker(worker: int, threads: int, device: str, tasks, results) -> None:
    """A long-lived shard process: builds its engine, warms up, then takes shards off ``tasks``
    (as Snakemake starts the next shard job on a free core) until it gets None."""
    t = time.perf_counter()
    engines = build_engines(threads, device)
    synthesize_shard(engines, ["hello there"], -1)
    results.put(("ready", worker, time.perf_counter() - t))
    while (task := tasks.get()) is not None:
        texts, shard = task
        t, cpu = time.perf_counter(), time.process_time()
        clips = synthesize_shard(engines, texts, shard)
        results.put((shard, worker, (clips, time.perf_counter() - t, time.process_time() - cpu)))


def _stats(n_clips: int, seconds: float, clips: list[np.ndarray]) -> dict[str, float]:
    audio_s = sum(len(c) for c in clips) / 16000
    return {
        "clips": n_clips,
        "seconds": seconds,
        "clips_per_s": n_clips / seconds,
        "audio_s": audio_s,
        "rtf": seconds / audio_s if audio_s else float("nan"),
    }


def run(
    n_clips: int = 80,
    workers: int | None = None,
    threads: int = 1,
    repeats: int = 3,
    start_method: str = "spawn",
    cuda: bool = True,
    n_shards: int | None = None,
) -> dict[str, Any]:
    """Time both ways; returns ``{"single", "parallel", "ratio", "identical", "other_cpu_s", "cuda"}``.

    ``single`` and ``parallel`` hold ``clips``, ``seconds`` (best of ``repeats``), ``clips_per_s``,
    ``audio_s``, ``rtf`` and ``startup_s`` (engine build and one warm-up clip); ``parallel["busy_s"]``
    is each worker's own synthesis time in the best repeat. The texts are cut into ``n_shards``
    shards (default: 4 per worker). ``other_cpu_s`` holds the CPU seconds other processes used
    during all timed runs of each side (a noisy machine understates the ratio). ``cuda`` is None
    without the CUDAExecutionProvider, else the reference's stats on the GPU and ``ratio_vs_cpu``.
    """
    import onnxruntime

    workers = workers or len(os.sched_getaffinity(0))
    texts = make_texts(n_clips)
    parts = shards(texts, n_shards or 4 * workers)

    t = time.perf_counter()
    engines = build_engines(threads, "cpu")
    synthesize_shard(engines, ["hello there"], -1)
    single_startup = time.perf_counter() - t

    ctx = mp.get_context(start_method)
    results, tasks = ctx.Queue(), ctx.Queue()
    t = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(w, threads, "cpu", tasks, results), daemon=True) for w in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        assert results.get()[0] == "ready"
    parallel_startup = time.perf_counter() - t

    single_times, parallel_times, busy = [], [], []
    other = {"single": 0.0, "parallel": 0.0}  # CPU seconds other processes took while we were timed
    try:
        for _ in range(repeats):
            machine, cpu, t = machine_cpu_s(), time.process_time(), time.perf_counter()
            single = [c for i, part in enumerate(parts) for c in synthesize_shard(engines, part, i)]
            single_times.append(time.perf_counter() - t)
            other["single"] += machine_cpu_s() - machine - (time.process_time() - cpu)

            machine, cpu, t = machine_cpu_s(), time.process_time(), time.perf_counter()
            for i, part in enumerate(parts):
                tasks.put((part, i))
            got = {shard: (worker, clips, secs, cpus) for shard, worker, (clips, secs, cpus) in (results.get() for _ in parts)}
            parallel_times.append(time.perf_counter() - t)
            ours = time.process_time() - cpu + sum(g[3] for g in got.values())
            other["parallel"] += machine_cpu_s() - machine - ours
            parallel = [c for i in range(len(parts)) for c in got[i][1]]
            busy.append([sum(g[2] for g in got.values() if g[0] == k) for k in range(workers)])
    finally:
        for _ in procs:
            tasks.put(None)
        for p in procs:
            p.join(timeout=30)

    out: dict[str, Any] = {
        "single": {**_stats(n_clips, min(single_times), single), "startup_s": single_startup, "threads": threads},
        "parallel": {
            **_stats(n_clips, min(parallel_times), parallel),
            "startup_s": parallel_startup,
            "workers": workers,
            "shards": len(parts),
            "busy_s": busy[int(np.argmin(parallel_times))],
        },
        "other_cpu_s": {k: max(0.0, v) for k, v in other.items()},
        "identical": len(single) == len(parallel) and all(np.array_equal(a, b) for a, b in zip(single, parallel)),
        "cuda": None,
    }
    out["ratio"] = out["parallel"]["clips_per_s"] / out["single"]["clips_per_s"]
    if cuda and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        gpu = build_engines(threads, "cuda")
        synthesize_shard(gpu, ["hello there"], -1)
        gpu_times = []
        for _ in range(repeats):
            t = time.perf_counter()
            gclips = [c for i, part in enumerate(parts) for c in synthesize_shard(gpu, part, i)]
            gpu_times.append(time.perf_counter() - t)
        stats = _stats(n_clips, min(gpu_times), gclips)
        stats["providers"] = gpu[0].providers
        stats["ratio_vs_cpu"] = stats["clips_per_s"] / out["single"]["clips_per_s"]
        out["cuda"] = stats
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=80)
    ap.add_argument("--workers", type=int, default=None, help="parallel shard processes (default: one per core)")
    ap.add_argument("--shards", type=int, default=None, help="shards the texts are cut into (default: 4 per worker)")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads per process")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--start-method", default="spawn", choices=["spawn", "fork", "forkserver"])
    ap.add_argument("--no-cuda", action="store_true")
    args = ap.parse_args()
    r = run(args.clips, args.workers, args.threads, args.repeats, args.start_method, not args.no_cuda, args.shards)
    s, p = r["single"], r["parallel"]
    print(
        f"cores: {len(os.sched_getaffinity(0))}, clips: {s['clips']} ({s['audio_s']:.1f} s of audio) in {p['shards']} shards, "
        f"best of {args.repeats}"
    )
    print(
        f"reference (1 process, {s['threads']} thread): {s['clips_per_s']:6.1f} clips/s  "
        f"rtf {s['rtf']:.4f}  ({s['seconds']:.2f} s; start-up {s['startup_s']:.2f} s)"
    )
    print(
        f"ours ({p['workers']} shard processes):        {p['clips_per_s']:6.1f} clips/s  "
        f"rtf {p['rtf']:.4f}  ({p['seconds']:.2f} s; start-up {p['startup_s']:.2f} s; "
        f"busy {' + '.join(f'{x:.2f}' for x in p['busy_s'])} s)"
    )
    print(f"ratio: {r['ratio']:.2f}x (target >= 1.8x)   clips bit-identical to the reference: {r['identical']}")
    o = r["other_cpu_s"]
    print(f"other processes' CPU while timed: {o['single']:.1f} s (reference), {o['parallel']:.1f} s (ours)")
    if o["parallel"] > 0.05 * args.repeats * p["seconds"]:
        print("warning: other processes were busy during the parallel runs; the ratio is understated")
    if r["cuda"] is None:
        print("cuda: onnxruntime has no CUDAExecutionProvider here; skipped")
    else:
        c = r["cuda"]
        print(
            f"cuda (1 process, {c['providers'][0]}): {c['clips_per_s']:6.1f} clips/s  rtf {c['rtf']:.4f}  ({c['ratio_vs_cpu']:.1f}x the CPU reference)"
        )


if __name__ == "__main__":
    main()
