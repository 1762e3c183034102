"""Assemble the long negative validation stream from held-out speech, rooms and background."""
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from wakeforge.audio import SAMPLE_RATE, load_clip_sets, save_npy
from wakeforge.augment import load_pool
from wakeforge.cli import run_script
from wakeforge.seeding import rng_for
from wakeforge.stream import build_stream

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    clips, texts = load_clip_sets(smk.input.clips)
    pool = smk.params.pool
    pool_rng = rng_for(smk.params.seed, "pool", smk.wildcards.stream)
    rirs, backgrounds = (load_pool(m, pool, pool_rng) for m in (smk.input.rirs, smk.input.background))
    rng = rng_for(smk.params.seed, "stream", smk.wildcards.stream)
    placed = []  # (start, end, clip) of each sentence: what was said where a model fires
    audio = build_stream(clips, rirs, backgrounds, smk.params.hours, rng, parts=smk.params.parts, sentences=placed)
    start, end, clip = np.array(placed, dtype=np.int64).reshape(-1, 3).T
    sentences = pd.DataFrame({"start_s": start / SAMPLE_RATE, "end_s": end / SAMPLE_RATE, "text": np.asarray(texts, dtype=object)[clip]})
    sentences.to_csv(smk.output.sentences, sep="\t", index=False, float_format="%.3f")
    save_npy(smk.output.audio, audio)


run_script(main, snakemake)
