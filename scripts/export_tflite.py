"""Export the best checkpoint to TFLite ([1, 16, 96] -> [1, 1]) with litert-torch, checked against torch and the ONNX model."""
import logging
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.export import export_tflite
from wakeforge.model import load_checkpoint

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    model, _ = load_checkpoint(smk.input.checkpoint)
    err = export_tflite(model, smk.output.tflite, onnx_path=smk.input.onnx)
    logging.getLogger("export_tflite").info("wrote %s (max difference to torch and to the ONNX model %.2e)", smk.output.tflite, err)


run_script(main, snakemake)
