"""Concatenate per-shard features into one (N, 16, 96) array plus its row metadata."""
from typing import TYPE_CHECKING

import numpy as np

from wakeforge.audio import save_npy, save_npz
from wakeforge.cli import run_script

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    features, source, texts = [], [], []
    for path in smk.input.shards:
        with np.load(path) as data:
            features.append(data["features"])
            source.append(data["source"])
            texts.append(data["texts"])
    save_npy(smk.output.features, np.concatenate(features))
    save_npz(smk.output.meta, source=np.concatenate(source), texts=np.concatenate(texts))


run_script(main, snakemake)
