"""Concatenate per-shard features into one (N, 16, 96) array plus its row metadata."""
from typing import TYPE_CHECKING

import numpy as np

from wakeforge.audio import save_npy, save_npz
from wakeforge.cli import run_script

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    features, meta = [], {}
    for path in smk.input.shards:
        with np.load(path) as data:
            features.append(data["features"])
            for key in data.files:  # source, texts, and snr_db where augmentation recorded it
                if key != "features":
                    meta.setdefault(key, []).append(data[key])
    save_npy(smk.output.features, np.concatenate(features))
    # a key only some shards have (none today) is left out rather than misaligned
    save_npz(smk.output.meta, **{k: np.concatenate(v) for k, v in meta.items() if len(v) == len(features)})


run_script(main, snakemake)
