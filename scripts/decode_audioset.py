"""Decode the AudioSet shards' audio to 16 kHz wavs and list them in a manifest."""
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.assets import write_manifest
from wakeforge.cli import run_script
from wakeforge.datasets import decode_parquet_audio

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("decode_audioset")
    dest = Path(smk.output.manifest).parent / "wav"
    shutil.rmtree(dest, ignore_errors=True)
    paths = []
    for i, parquet in enumerate(smk.input.parquet):
        written, skipped = decode_parquet_audio(parquet, dest / str(i), kind="audioset", max_clips=smk.params.max_clips)
        log.info("%s: %d clips decoded, %d skipped", parquet, len(written), skipped)
        paths += written
    write_manifest(paths, smk.output.manifest)


run_script(main, snakemake)
