"""Download one AudioSet parquet shard, checked against the pinned sha256 or the host's listing."""
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.datasets import listed_checksum
from wakeforge.download import download

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    remote, dest = smk.params.remote, Path(smk.output.parquet)
    checksum, size = remote.checksum, remote.size
    if checksum is None:
        size, checksum = listed_checksum(smk.params.listing, f"data/{smk.wildcards.shard_path}.parquet", dest.parent, "audioset", **smk.params.options)
    download(remote.urls, dest, asset=f"audioset {smk.wildcards.shard_path}", checksum=checksum, size=size, hint="Other mirrors go in config key assets.full.hosts.huggingface.", **smk.params.options)


run_script(main, snakemake)
