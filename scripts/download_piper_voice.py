"""Download a Piper voice (.onnx + .onnx.json, checked against the host's listing) and check it loads."""
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge import catalog
from wakeforge.cli import run_script
from wakeforge.datasets import download_listed
from wakeforge.tts import PiperEngine

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    voice = smk.wildcards.voice
    names = {f"{voice}.onnx", f"{voice}.onnx.json"}
    download_listed(smk.params.config, catalog.VOICES, catalog.voice_folder(voice), Path(smk.output.model).parent, f"Piper voice {voice}", include=lambda p: Path(p).name in names)
    PiperEngine(smk.output.model, smk.output.config)


run_script(main, snakemake)
