"""Texts of the phrase-specific sets: the phrase itself (with punctuation variants) and adversarial near-misses."""
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.phrases import adversarial_phrases
from wakeforge.seeding import rng_for
from wakeforge.texts import positive_texts, write_lines

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    p = smk.params
    for set_name, n in p.counts.items():
        rng = rng_for(p.seed, "phrases", p.phrase, set_name)
        if set_name.startswith("positive"):
            texts = positive_texts(p.phrase, n, rng)
        else:
            texts = adversarial_phrases(p.phrase, n, rng, custom=list(p.custom))
        write_lines(smk.output[set_name], texts)


run_script(main, snakemake)
