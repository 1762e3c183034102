"""Synthesise one shard of a text list into a clip-set .npz (16 kHz int16).

One shard job keeps one core busy (onnxruntime with ``threads`` intra-op threads, 1 by default);
Snakemake runs one such job per core. The log's last line gives the job's wall and CPU seconds
(Snakemake's own ``cpu_time`` column stops counting after 15 s for jobs shorter than 45 s).
"""

import logging
import os
import time
from typing import TYPE_CHECKING

import numpy as np

from wakeforge.audio import SAMPLE_RATE, save_clips
from wakeforge.cli import run_script
from wakeforge.seeding import rng_for
from wakeforge.texts import read_lines, shard_slice
from wakeforge.tts import available_engines, synthesize_texts
from wakeforge.voices import VoiceChange, change_voices

if TYPE_CHECKING:
    from snakemake.script import snakemake


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children, all threads."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(smk):
    log = logging.getLogger("synthesize_clips")
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    shard = int(smk.wildcards.shard)
    texts = shard_slice(read_lines(smk.input.text), shard, smk.params.n_shards)
    tts = smk.params.tts
    # test sets speak with held-out voices (eSpeak variants training never hears)
    engines, skipped = available_engines(tts["engines"], threads=smk.threads, heldout=smk.params.heldout)
    for reason in skipped:
        log.warning(reason)
    for engine in engines:
        log.info("%s on %s, %d thread(s)", engine.name, ", ".join(getattr(engine, "providers", ["-"])), smk.threads)
    rng = rng_for(smk.params.seed, "tts", smk.input.text, shard)
    prosody = {k: tts[k] for k in ("length_scale", "noise_scale", "noise_w_scale")}
    names: list[str] = []
    clips, kept, n_skipped = synthesize_texts(texts, engines, rng, prosody, progress=True, engine_names=names)
    if n_skipped:
        log.warning("%d of %d texts gave no audio and were skipped", n_skipped, len(texts))
    voice_change = VoiceChange.from_config(tts.get("voice_change"))
    if not smk.params.heldout and voice_change.probability > 0:  # training sets: other speakers too
        clips, ratios = change_voices(clips, rng_for(smk.params.seed, "voice_change", smk.input.text, shard), voice_change)
        log.info("voice change on %d of %d clips", int(np.sum(~np.isnan(ratios))), len(clips))
    save_clips(smk.output.clips, clips, kept, engines=names)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    audio_s = sum(len(c) for c in clips) / SAMPLE_RATE
    log.info("clips per engine: %s", ", ".join(f"{n} {names.count(n)}" for n in sorted(set(names))) or "none")
    log.info(
        "wrote %d clips (%.0f s of audio) to %s in %.1f s wall, %.1f CPU-s (%.2f cores busy, %.1f clips/s)",
        len(clips),
        audio_s,
        smk.output.clips,
        wall,
        cpu,
        cpu / wall if wall else 0.0,
        len(clips) / wall if wall else 0.0,
    )


run_script(main, snakemake)
