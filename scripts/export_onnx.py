"""Export the best checkpoint to ONNX ([1, 16, 96] -> [1, 1])."""
import logging
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.export import export_onnx
from wakeforge.model import load_checkpoint

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    model, _ = load_checkpoint(smk.input.checkpoint)
    err = export_onnx(model, smk.output.onnx)
    logging.getLogger("export_onnx").info("wrote %s (max |onnx - torch| = %.2e)", smk.output.onnx, err)


run_script(main, snakemake)
