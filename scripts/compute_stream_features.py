"""Streaming embeddings of the validation stream: one per 80 ms, as openWakeWord's streaming client computes them."""
from typing import TYPE_CHECKING

import numpy as np

from wakeforge.audio import save_npy
from wakeforge.cli import run_script
from wakeforge.features import FeatureExtractor, resolve_device

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    extractor = FeatureExtractor(smk.input.melspec, smk.input.embedding, threads=smk.threads, device=resolve_device(smk.params.device))
    audio = np.load(smk.input.audio, mmap_mode="r")
    save_npy(smk.output.features, extractor.stream_embeddings(np.asarray(audio), progress=True).astype(np.float32))


run_script(main, snakemake)
