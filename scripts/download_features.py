"""Download one of openWakeWord's precomputed feature files (verified), then check its shape."""
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.cli import run_script
from wakeforge.datasets import check_feature_file
from wakeforge.download import download
from wakeforge.errors import WakeforgeError
from wakeforge.metrics import stream_hours

HINT = "Other mirrors of it go in config key assets.full.{asset}.urls (with its sha256)."

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    log = logging.getLogger("download_features")
    asset, remote = smk.params.asset, smk.params.remote
    dest = Path(smk.output.features)
    if remote.checksum is None:
        log.warning("%s: no sha256 configured for %s; only its shape will be checked", asset, remote.urls[0])
    download(remote.urls, dest, asset=asset, checksum=remote.checksum, size=remote.size, hint=HINT.format(asset=asset), **smk.params.options)
    try:
        array = check_feature_file(dest, windows=smk.params.windows, asset=asset)
    except WakeforgeError:
        dest.unlink()
        raise
    if smk.params.windows:
        log.info("%s: %d windows of (16, 96) %s", asset, array.shape[0], array.dtype)
    else:
        log.info("%s: %d frames = %.2f h of negative audio", asset, array.shape[0], stream_hours(array))


run_script(main, snakemake)
