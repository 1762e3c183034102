"""Train the wake word model; write the best checkpoint and the training history."""
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from wakeforge.cli import run_script
from wakeforge.recordings import with_personal
from wakeforge.texts import drop_phrase
from wakeforge.train import TrainData, train_ensemble

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("train_model")
    i, p = smk.input, smk.params
    meta = {k: np.load(i[f"{k}_meta"]) for k in ("positive", "adversarial", "general")}
    # General sentences are phrase-independent; drop any that happen to say this phrase.
    general, n_dropped = drop_phrase(np.load(i.general), meta["general"]["texts"], p.phrase)
    if n_dropped:
        log.warning("dropped %d general negative clips that contain the phrase", n_dropped)
    personal = (np.load(i.personal[0]), np.load(i.personal[1])["source"]) if i.personal else (None, None)
    positive, positive_source = with_personal(np.load(i.positive), meta["positive"]["source"], *personal)
    if i.personal:
        log.info("added %d augmented copies of the personal recordings to the positives", len(personal[0]))
    data = TrainData(
        positive=positive,
        positive_source=positive_source,
        adversarial=np.load(i.adversarial),
        adversarial_source=meta["adversarial"]["source"],
        general=general,
        negative_stream=np.load(i.negative_stream),
        stream=np.load(i.stream),
        precomputed=np.load(i.precomputed[0], mmap_mode="r") if i.precomputed else None,
        fp_validation=np.load(i.fp_validation[0]) if i.fp_validation else None,
    )
    best, history = train_ensemble(data, p.model, p.train, p.threshold, p.fp_target, p.seed, p.refractory_s, threads=smk.threads, progress=True)
    best["phrase"] = p.phrase
    torch.save(best, smk.output.checkpoint)
    pd.DataFrame(history).to_csv(smk.output.history, index=False)


run_script(main, snakemake)
