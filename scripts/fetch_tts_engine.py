"""Fetch a TTS engine's programs (pinned Debian packages, unpacked under resources/<engine>/root)
and write its manifest: flite, mbrola (espeak-ng with MBROLA voices), pico (SVOX Pico) or rhvoice (RHVoice).

When it cannot be fetched or run here, the manifest says why and the TTS jobs skip the engine
(with a warning naming the reason); delete the manifest to try again.
"""
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.audio import write_json
from wakeforge.cli import run_script
from wakeforge.tts import DEBIAN_ENGINES

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    engine = smk.wildcards.engine
    log = logging.getLogger(f"fetch_{engine}")
    fetch = DEBIAN_ENGINES[engine][0]
    manifest = fetch(Path(smk.output.manifest).parent, smk.params.mirrors, progress=False, **smk.params.options)
    if manifest["available"]:
        log.info("%s ready (%s): voices %s", engine, ", ".join(f"{k} {v}" for k, v in manifest["packages"].items()), " ".join(manifest["voices"]))
    else:
        log.warning("%s is not available, so the TTS jobs will skip it: %s (delete %s to try again)", engine, manifest["reason"], smk.output.manifest)
    write_json(smk.output.manifest, manifest)


run_script(main, snakemake)
