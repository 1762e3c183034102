"""The training window for this phrase: median positive length + 750 ms, at least 2 s."""
import logging
from typing import TYPE_CHECKING

from wakeforge.audio import SAMPLE_RATE, load_clip_sets, write_json
from wakeforge.augment import clip_samples_for
from wakeforge.cli import run_script
from wakeforge.features import MODEL_FRAMES

if TYPE_CHECKING:
    from snakemake.script import snakemake

# 16 embedding frames cover 1.96 s: a phrase much longer than that cannot fit in the model's view.
MAX_PHRASE_SECONDS = 1.9


def main(smk):
    clips, _ = load_clip_sets(smk.input.clips)
    lengths = [len(c) for c in clips]
    clip_samples = clip_samples_for(lengths)
    median_s = sorted(lengths)[len(lengths) // 2] / SAMPLE_RATE
    if median_s > MAX_PHRASE_SECONDS:
        logging.getLogger("measure_clip_length").warning(
            "the phrase lasts %.2f s: the model sees the last %d frames (~2 s), so its start is cut off", median_s, MODEL_FRAMES
        )
    write_json(smk.output.json, {"clip_samples": clip_samples, "median_phrase_seconds": median_s})


run_script(main, snakemake)
