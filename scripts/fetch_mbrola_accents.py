"""Fetch the accented MBROLA voices of mbrola's train_voices (pinned Debian non-free packages, under
resources/mbrola_accents/) beside the mbrola fetch, which stays as it is, and write their manifest.

When they cannot be fetched or run here, the manifest says why and the training sets are
synthesised without them (with a warning); delete the manifest to try again.
"""
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.audio import write_json
from wakeforge.cli import run_script
from wakeforge.tts import fetch_mbrola_accents

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("fetch_mbrola_accents")
    p = smk.params
    manifest = fetch_mbrola_accents(Path(smk.output.manifest).parent, smk.input.base, p.voices, p.mirrors, progress=False, **p.options)
    if manifest["available"]:
        log.info("accented MBROLA voices ready (%s): %s", ", ".join(f"{k} {v}" for k, v in manifest["packages"].items()), " ".join(manifest["voices"]))
    else:
        log.warning("the accented MBROLA voices are not available, so training goes on without them: %s (delete %s to try again)", manifest["reason"], smk.output.manifest)
    write_json(smk.output.manifest, manifest)


run_script(main, snakemake)
