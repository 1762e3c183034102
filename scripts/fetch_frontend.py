"""Copy openWakeWord's frontend ONNX models (sha256-checked) into resources/frontend/."""
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.assets import fetch_frontend
from wakeforge.cli import run_script

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    fetch_frontend(Path(smk.output.melspec).parent)


run_script(main, snakemake)
