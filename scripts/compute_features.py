"""openWakeWord embeddings (last 16 frames, plus a test set's tail frames) of one shard of augmented clips."""
from typing import TYPE_CHECKING

import numpy as np

from wakeforge.audio import save_npz
from wakeforge.cli import run_script
from wakeforge.features import MODEL_FRAMES, FeatureExtractor, resolve_device

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    extractor = FeatureExtractor(smk.input.melspec, smk.input.embedding, threads=smk.threads, device=resolve_device(smk.params.device))
    with np.load(smk.input.augmented) as data:
        audio = data["audio"]
        meta = {k: data[k] for k in data.files if k != "audio"}  # source, texts, snr_db (row metadata)
    n_frames = MODEL_FRAMES + int(smk.params.get("tail_frames", 0))  # test sets: windows after the phrase too
    features = extractor.embed_clips_last(audio, n_frames, batch_size=smk.params.batch_size, progress=True)
    save_npz(smk.output.features, features=features.astype(np.float32), **meta)


run_script(main, snakemake)
