"""Full-data tier: fetch the catalogue's datasets and turn them into what the workflow reads.

In: a :mod:`wakeforge.catalog` entry and a destination. Out: verified files (every byte checked
against a pinned sha256 or the host's published checksum, see :mod:`wakeforge.download`) and
16 kHz mono wav files listed in asset manifests (:func:`wakeforge.assets.write_manifest`).

- :func:`download_listed` fetches every file of a folder of a Hugging Face repo (MIT impulse
  responses, a Piper voice) using the host's listing for the file names and checksums.
- :func:`decode_parquet_audio` turns an AudioSet parquet shard (rows with encoded audio bytes) into
  wav files, row batch by row batch, so a 700 MB shard never sits in memory whole.
- :func:`check_feature_file` checks that a downloaded feature array has the shape the trainer reads:
  ``(n, 16, 96)`` windows (ACAV100M) or ``(n, 96)`` frames of a stream (validation features).
"""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import soundfile as sf

from . import catalog
from .assets import _slug
from .audio import SAMPLE_RATE, resample, write_wav
from .download import Checksum, download, verify_file
from .errors import WakeforgeError

log = logging.getLogger(__name__)

def fetch_listing(urls: Sequence[str], dest: str | os.PathLike, asset: str, **options) -> dict:
    """Download a Hugging Face tree listing to ``dest`` and parse it (:func:`catalog.parse_listing`).

    ``options`` go to :func:`wakeforge.download.download` (retries, timeout_s).
    """
    Path(dest).unlink(missing_ok=True)  # a listing is small: always take the host's current one
    path = download(urls, dest, asset=f"{asset} file list", progress=False, **options)
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise WakeforgeError(f"the file list of {asset} ({path}) is not valid JSON ({exc}); delete it and re-run") from None
    return catalog.parse_listing(entries, f"the file list of {asset} from {urls[0]}")


def _listing_path(dest_dir: Path, folder: str) -> Path:
    return dest_dir / f".listing-{_slug(folder or 'root')}.json"


def listed_checksum(listing_urls: Sequence[str], path: str, dest_dir: str | os.PathLike, asset: str, **options) -> tuple[int, Checksum]:
    """``(size, checksum)`` of one file, from the host's listing of its folder."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    listing = fetch_listing(listing_urls, _listing_path(dest_dir, str(Path(path).parent)), asset, **options)
    if path not in listing:
        raise WakeforgeError(f"{asset}: {path} is not in the host's file list ({listing_urls[0]}); check the name in the config")
    return listing[path]


def download_listed(
    config: Mapping,
    repo: catalog.HfRepo,
    folder: str,
    dest_dir: str | os.PathLike,
    asset: str,
    include: Callable[[str], bool] = lambda path: True,
    prefix: str = "",
    progress: bool = True,
) -> list[Path]:
    """Every listed file of ``repo``/``folder`` that ``include`` accepts, into ``dest_dir`` (flat,
    named ``prefix`` + its name). A file already there from an interrupted run is kept if it verifies.
    """
    from tqdm import tqdm

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    options = catalog.download_options(config)
    listing = fetch_listing(catalog.hf_tree_urls(config, repo, folder), _listing_path(dest_dir, folder), asset, **options)
    wanted = sorted(p for p in listing if include(p))
    if not wanted:
        raise WakeforgeError(f"{asset}: the host's file list of {repo.name}/{folder} at {repo.revision} has no matching files; check the name")

    out = []
    for path in tqdm(wanted, desc=asset, unit="file", disable=not progress, mininterval=2):
        size, checksum = listing[path]
        dest = dest_dir / (prefix + Path(path).name)
        if dest.is_file():
            try:
                verify_file(dest, checksum, size)
                out.append(dest)
                continue
            except WakeforgeError:
                dest.unlink()
        remote = catalog.hf_file(config, repo, path, checksum, size)
        out.append(
            download(remote.urls, dest, asset=f"{asset} {Path(path).name}", checksum=remote.checksum, size=remote.size, progress=False, **options)
        )
    return out


def decode_parquet_audio(
    parquet: str | os.PathLike,
    dest_dir: str | os.PathLike,
    *,
    kind: str,
    max_clips: int | None = None,
    max_seconds: float | None = None,
    column: str = "audio",
) -> tuple[list[Path], int]:
    """Decode the encoded audio of each row (``{column: {"bytes", "path"}}``) to 16 kHz mono wav.

    Files are named ``<kind>_<index:05d>_<source name>.wav``. Rows that do not decode are skipped
    with a warning and counted. Returns (written paths, number skipped).
    """
    import pyarrow.parquet as pq

    parquet = Path(parquet)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        reader = pq.ParquetFile(parquet)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise WakeforgeError(f"{parquet} is not a readable parquet file ({exc}); delete it and re-run") from None
    if column not in reader.schema_arrow.names:
        raise WakeforgeError(f"{parquet} has no {column!r} column (columns: {', '.join(reader.schema_arrow.names)})")
    out: list[Path] = []
    skipped = 0
    for batch in reader.iter_batches(batch_size=32, columns=[column]):
        for cell in batch.column(0).to_pylist():
            if max_clips is not None and len(out) >= max_clips:
                return out, skipped
            name = str((cell or {}).get("path") or "clip")
            try:
                data = (cell or {}).get("bytes")
                if not data:
                    raise ValueError("no audio bytes")
                audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
                audio = resample(audio.mean(axis=1), rate, SAMPLE_RATE)
            except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, ValueError...
                skipped += 1
                log.warning("skipping row %s of %s: %s", name, parquet.name, exc)
                continue
            if max_seconds is not None:
                audio = audio[: int(max_seconds * SAMPLE_RATE)]
            if len(audio) < SAMPLE_RATE // 10 or not np.any(audio):
                skipped += 1
                log.warning("skipping row %s of %s: empty or silent", name, parquet.name)
                continue
            path = dest_dir / f"{kind}_{len(out):05d}_{_slug(Path(name).stem)}.wav"
            write_wav(path, np.nan_to_num(audio))
            out.append(path)
    return out, skipped


def check_feature_file(path: str | os.PathLike, *, windows: bool, asset: str) -> np.ndarray:
    """Memory-map a feature array and check its shape: ``(n, 16, 96)`` windows or ``(n, 96)`` frames."""
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise WakeforgeError(f"{asset}: {path} is not a numpy array file ({exc})") from None
    expected = "(n, 16, 96)" if windows else "(n, 96)"
    ok = array.ndim == 3 and array.shape[1:] == (16, 96) if windows else array.ndim == 2 and array.shape[1] == 96
    if not ok or array.shape[0] == 0:
        raise WakeforgeError(f"{asset}: {path} has shape {array.shape}, expected {expected} features")
    return array
