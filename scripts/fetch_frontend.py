"""Place openWakeWord's frontend ONNX models (sha256-checked) in resources/frontend/.

Full tier: from openWakeWord's GitHub release v0.5.1 first; the installed package or the
openwakeword==0.5.1 wheel from the package index otherwise (and always in the embedded tier).
"""
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.assets import FRONTEND_SHA256, fetch_frontend
from wakeforge.cli import run_script
from wakeforge.download import Checksum, download
from wakeforge.errors import WakeforgeError

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("fetch_frontend")
    dest = Path(smk.output.melspec).parent
    for name, urls in smk.params.urls.items():
        try:
            download(urls, dest / name, asset=name, checksum=Checksum("sha256", FRONTEND_SHA256[name]), progress=False, **smk.params.options)
        except WakeforgeError as exc:
            log.warning("%s; falling back to the openwakeword==0.5.1 package", exc)
    fetch_frontend(dest)


run_script(main, snakemake)
