"""Extract (safely) the first tracks of the FMA archive and convert them to 16 kHz wavs with a manifest."""
import logging
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.archive import safe_extract
from wakeforge.assets import import_user_background, write_manifest
from wakeforge.cli import run_script
from wakeforge.errors import WakeforgeError

if TYPE_CHECKING:
    from snakemake.script import snakemake

SECONDS_PER_TRACK = 30


def main(smk):
    log = logging.getLogger("decode_fma")
    out = Path(smk.output.manifest).parent
    extracted, dest = out / "extracted", out / "wav"
    for d in (extracted, dest):
        shutil.rmtree(d, ignore_errors=True)
    try:
        with zipfile.ZipFile(smk.input.archive) as zf:
            names = sorted(n for n in zf.namelist() if n.lower().endswith((".mp3", ".wav", ".flac", ".ogg")))
    except zipfile.BadZipFile as exc:
        raise WakeforgeError(f"{smk.input.archive} is not a zip archive ({exc}); delete it and re-run") from None
    chosen = set(names[: smk.params.max_clips])
    safe_extract(smk.input.archive, extracted, include=chosen.__contains__)
    paths, skipped = import_user_background([extracted], dest, smk.params.max_clips, kind="fma", max_seconds=SECONDS_PER_TRACK, config_key="assets.full.fma")
    shutil.rmtree(extracted, ignore_errors=True)
    log.info("fma: %d tracks converted, %d unreadable (skipped)", len(paths), skipped)
    write_manifest(paths, smk.output.manifest)


run_script(main, snakemake)
