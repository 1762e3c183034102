"""Augment one shard of clips into fixed-length training/test clips."""
import json
import logging
from typing import TYPE_CHECKING

from wakeforge.audio import load_clips, save_npz
from wakeforge.augment import CHUNK_SAMPLES, GENERAL_CLIP_SAMPLES, SHARD_STRIDE, Augmenter, AugmentSettings, load_pool
from wakeforge.cli import run_script
from wakeforge.seeding import rng_for

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    p = smk.params
    clips, texts = load_clips(smk.input.clips)
    if "clip_length" in smk.input.keys():
        with open(smk.input.clip_length) as fh:
            clip_samples = json.load(fh)["clip_samples"]
    else:
        clip_samples = GENERAL_CLIP_SAMPLES
    pool_rng = rng_for(p.seed, "pool", smk.input.clips)
    rirs, backgrounds = (load_pool(m, p.pool, pool_rng) for m in (smk.input.rirs, smk.input.background))
    # GPU when torch sees one, else numpy on the rule's threads
    augmenter = Augmenter(AugmentSettings.from_config(p.augmentation), rirs, backgrounds, threads=smk.threads)
    shard = int(smk.wildcards.shard)
    rng = rng_for(p.seed, "augment", smk.input.clips)
    # test sets: the window goes on after the phrase (evaluation.latency_s), for a streaming score
    tail = int(p.get("tail_frames", 0)) * CHUNK_SAMPLES
    audio, source = augmenter.augment(clips, clip_samples + tail, rng, p.mode, rounds=p.rounds, progress=True, tail_samples=tail)
    if p.mode == "end":
        logging.getLogger("wakeforge.augment").info("phrase ends 0..%.2f s before the window's end (then %d tail frames)", augmenter.settings.end_jitter_s, tail // CHUNK_SAMPLES)
    applied = ", ".join(f"{name} {flags.mean():.0%}" for name, flags in augmenter.applied.items()) if len(audio) else "none"
    logging.getLogger("wakeforge.augment").info("%d clips on %s; effects applied: %s", len(audio), augmenter.device, applied)
    save_npz(
        smk.output.augmented,
        audio=audio,
        source=source + shard * SHARD_STRIDE,
        texts=[texts[i] for i in source],
        snr_db=augmenter.background_snr_db,
        # which effects each row got: the evaluation reports recall with and without each
        **{f"effect_{name}": flags for name, flags in augmenter.applied.items()},
    )


run_script(main, snakemake)
