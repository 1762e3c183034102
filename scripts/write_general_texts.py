"""Random sentences for one set of general negative speech or of a negative stream (phrase-independent)."""
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.phrases import load_word_list, random_sentences
from wakeforge.seeding import rng_for
from wakeforge.texts import write_lines

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    words = load_word_list(smk.input.words)
    set_name = smk.wildcards.shared_set
    write_lines(smk.output.text, random_sentences(words, smk.params.n_sentences, rng_for(smk.params.seed, "sentences", set_name)))


run_script(main, snakemake)
