"""Download the MIT environmental impulse responses (16 kHz wavs, each checked against the host's listing)."""
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge import catalog
from wakeforge.assets import write_manifest
from wakeforge.cli import run_script
from wakeforge.datasets import download_listed

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    dest = Path(smk.output.manifest).parent / "wav"
    paths = download_listed(
        smk.params.config, catalog.RIRS, catalog.RIR_FOLDER, dest, "mit_rirs", include=lambda p: p.lower().endswith(".wav"), prefix="mit_"
    )
    write_manifest(paths, smk.output.manifest)


run_script(main, snakemake)
