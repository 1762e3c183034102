"""Synthesise one shard of a text list into a clip-set .npz (16 kHz int16)."""
import logging
from typing import TYPE_CHECKING

from wakeforge.audio import save_clips
from wakeforge.cli import run_script
from wakeforge.seeding import rng_for
from wakeforge.texts import read_lines, shard_slice
from wakeforge.tts import available_engines, synthesize_texts

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("synthesize_clips")
    shard = int(smk.wildcards.shard)
    texts = shard_slice(read_lines(smk.input.text), shard, smk.params.n_shards)
    tts = smk.params.tts
    engines, skipped = available_engines(tts["engines"], threads=smk.threads)
    for reason in skipped:
        log.warning(reason)
    rng = rng_for(smk.params.seed, "tts", smk.input.text, shard)
    prosody = {k: tts[k] for k in ("length_scale", "noise_scale", "noise_w_scale")}
    clips, kept, n_skipped = synthesize_texts(texts, engines, rng, prosody, progress=True)
    if n_skipped:
        log.warning("%d of %d texts gave no audio and were skipped", n_skipped, len(texts))
    save_clips(smk.output.clips, clips, kept)
    log.info("wrote %d clips to %s", len(clips), smk.output.clips)


run_script(main, snakemake)
