"""Random sentences for general negative speech and for the validation stream (phrase-independent)."""
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.phrases import load_word_list, random_sentences
from wakeforge.seeding import rng_for
from wakeforge.texts import write_lines

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    words = load_word_list(smk.input.words)
    for set_name, n in smk.params.counts.items():
        write_lines(smk.output[set_name], random_sentences(words, n, rng_for(smk.params.seed, "sentences", set_name)))


run_script(main, snakemake)
