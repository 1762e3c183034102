"""Fetch Debian's music or recorded-speech packages (pinned; unpacked under
resources/<collection>/root) for backgrounds.

When they cannot be fetched, the manifest says why and build_background falls back to copies
installed on this machine, if any (delete the manifest to try again).
"""
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge import debian
from wakeforge.audio import write_json
from wakeforge.cli import run_script

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    collection = smk.wildcards.collection
    log = logging.getLogger(f"fetch_debian_{collection}")
    manifest = debian.fetch(collection, Path(smk.output.manifest).parent, smk.params.mirrors, progress=False, **smk.params.options)
    if manifest["available"]:
        log.info("Debian %s ready: %s", collection, ", ".join(f"{k} {v}" for k, v in manifest["packages"].items()))
    else:
        log.warning("Debian %s could not be fetched: %s (delete %s to try again)", collection, manifest["reason"], smk.output.manifest)
    write_json(smk.output.manifest, manifest)


run_script(main, snakemake)
