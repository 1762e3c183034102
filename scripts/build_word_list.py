"""The English word list general negative sentences are drawn from."""
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.phrases import build_word_list

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    build_word_list(smk.output.words, smk.params.n_words)


run_script(main, snakemake)
