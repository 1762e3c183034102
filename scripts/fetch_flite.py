"""Fetch flite (pinned Debian packages, unpacked under resources/flite/root) and write its manifest.

When it cannot be fetched or run here, the manifest says why and the TTS jobs skip the engine
(with a warning naming the reason); delete the manifest to try again.
"""
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.audio import write_json
from wakeforge.cli import run_script
from wakeforge.tts import fetch_flite

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("fetch_flite")
    manifest = fetch_flite(Path(smk.output.manifest).parent, smk.params.mirrors, progress=False, **smk.params.options)
    if manifest["available"]:
        log.info("flite %s ready: voices %s", manifest["packages"]["flite"], " ".join(manifest["voices"]))
    else:
        log.warning("flite is not available, so the TTS jobs will skip it: %s (delete %s to try again)", manifest["reason"], smk.output.manifest)
    write_json(smk.output.manifest, manifest)


run_script(main, snakemake)
