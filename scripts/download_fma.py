"""Download the FMA extra-small archive, checked against the host's listing."""
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge import catalog
from wakeforge.cli import run_script
from wakeforge.datasets import listed_checksum
from wakeforge.download import download

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    dest = Path(smk.output.archive)
    size, checksum = listed_checksum(smk.params.listing, catalog.FMA_ARCHIVE, dest.parent, "fma", **smk.params.options)
    download(smk.params.urls, dest, asset="fma", checksum=checksum, size=size, hint="Other mirrors go in config key assets.full.hosts.huggingface.", **smk.params.options)


run_script(main, snakemake)
