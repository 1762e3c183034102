"""Assemble the long negative validation stream from held-out speech, rooms and background."""
from typing import TYPE_CHECKING

from wakeforge.audio import load_clip_sets, save_npy
from wakeforge.augment import load_pool
from wakeforge.cli import run_script
from wakeforge.seeding import rng_for
from wakeforge.stream import build_stream

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    clips, _ = load_clip_sets(smk.input.clips)
    pool = smk.params.pool
    pool_rng = rng_for(smk.params.seed, "pool", smk.wildcards.stream)
    rirs, backgrounds = (load_pool(m, pool, pool_rng) for m in (smk.input.rirs, smk.input.background))
    rng = rng_for(smk.params.seed, "stream", smk.wildcards.stream)
    save_npy(smk.output.audio, build_stream(clips, rirs, backgrounds, smk.params.hours, rng, parts=smk.params.parts))


run_script(main, snakemake)
