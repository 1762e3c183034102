"""Fetch Debian's music packages (pinned; unpacked under resources/music/root) for backgrounds.

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
    log = logging.getLogger("fetch_debian_music")
    manifest = debian.fetch("music", Path(smk.output.manifest).parent, smk.params.mirrors, progress=False, **smk.params.options)
    if manifest["available"]:
        log.info("Debian music ready: %s", ", ".join(f"{k} {v}" for k, v in manifest["packages"].items()))
    else:
        log.warning("Debian music could not be fetched: %s (delete %s to try again)", manifest["reason"], smk.output.manifest)
    write_json(smk.output.manifest, manifest)


run_script(main, snakemake)
