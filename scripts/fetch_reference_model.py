"""Place openWakeWord's own pretrained model for the phrase (sha256-checked) in resources/reference/."""
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.assets import fetch_reference_model
from wakeforge.cli import run_script

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    out = Path(smk.output.onnx)
    fetch_reference_model(out.stem, out.parent)


run_script(main, snakemake)
