"""Safe, all-or-nothing extraction of zip and tar archives (downloaded data sets).

:func:`safe_extract` detects the format by content (zip, or tar: plain, gzip, bzip2, xz), checks
every member before writing anything, extracts into a temporary folder next to ``dest`` and
renames that onto ``dest`` at the end, so ``dest`` is either absent (or still empty) or complete.

The whole archive is rejected (:class:`WakeforgeError` naming the archive and the member) when any
member, whether ``include`` selects it or not, has an absolute path, a path that leaves ``dest``
(``..``), is a symlink or hard link whose target lies outside ``dest``, or is a device, fifo or
other special file. For tar archives the standard library's ``tarfile.data_filter`` (Python >=
3.11.4) is applied as well, on top of these checks.

Links inside ``dest``: a symlink is *skipped* (not created, logged at debug level), so nothing
extracted can point anywhere else later; a tar hard link becomes a regular file holding a copy of
its target's content. File modes and times from the archive are not kept: files are written with
the default permissions.
"""

from __future__ import annotations

import logging
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import WakeforgeError

log = logging.getLogger(__name__)

_DRIVE = re.compile(r"^[A-Za-z]:")
# What reading a damaged, truncated or unsupported archive raises (WakeforgeError is not among them).
_DAMAGED = (OSError, EOFError, ValueError, RuntimeError, tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError)


@dataclass(frozen=True)
class _Entry:
    """One member to extract: its safe relative path, what it is, and how to find it in the archive."""

    name: str  # normalised, relative, "/"-separated
    kind: str  # "file" or "dir"
    member: Any  # tarfile.TarInfo or zipfile.ZipInfo


def _reject(archive: Path, member: str, why: str) -> WakeforgeError:
    return WakeforgeError(
        f"refusing to extract {archive}: member {member!r} {why}; the archive is unsafe or damaged, download it again from a trusted source"
    )


def _safe_name(archive: Path, raw: str) -> str | None:
    """The member's path relative to ``dest`` ("a/b.wav"), None for the archive root itself; raises if unsafe."""
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        raise _reject(archive, raw, "has an absolute path")
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../"):
        raise _reject(archive, raw, "points outside the destination folder")
    return None if normal == "." else normal


def _check_link(archive: Path, raw: str, target: str, relative_to: str) -> None:
    """Raise unless a link ``raw`` whose ``target`` is read relative to folder ``relative_to`` stays inside ``dest``."""
    target = target.replace("\\", "/")
    if not target or target.startswith("/") or _DRIVE.match(target):
        raise _reject(archive, raw, f"is a link to the absolute path {target!r}")
    resolved = posixpath.normpath(posixpath.join(relative_to, target))
    if resolved == ".." or resolved.startswith("../"):
        raise _reject(archive, raw, f"is a link to {target!r}, outside the destination folder")


# --------------------------------------------------------------------------------------------
# Planning: every member is checked before anything is written
# --------------------------------------------------------------------------------------------


def check_tar_member(archive: Path, member: tarfile.TarInfo, check_dir: Path) -> str | None:
    """The member's safe relative path (None for the archive root); raises :class:`WakeforgeError`
    for an absolute path, a path or link leaving the destination, a device or fifo, or another
    unsupported type (and, on Python >= 3.11.4, anything ``tarfile.data_filter`` refuses for
    ``check_dir``)."""
    name = _safe_name(archive, member.name)
    if member.issym():
        _check_link(archive, member.name, member.linkname, posixpath.dirname(name or ""))
    elif member.islnk():
        _check_link(archive, member.name, member.linkname, "")
    elif member.ischr() or member.isblk() or member.isfifo():
        raise _reject(archive, member.name, "is a device or fifo")
    elif not (member.isfile() or member.isdir()):
        raise _reject(archive, member.name, f"has an unsupported tar type {member.type!r}")
    if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: the standard library's own checks as well
        try:
            tarfile.data_filter(member, str(check_dir))
        except tarfile.FilterError as exc:
            raise _reject(archive, member.name, f"is refused by tarfile's data filter ({exc})") from None
    return name


def _plan_tar(archive: Path, tf: tarfile.TarFile, check_dir: Path) -> list[_Entry]:
    entries = []
    for member in tf.getmembers():
        name = check_tar_member(archive, member, check_dir)
        if name is None:
            continue
        if member.issym():
            log.debug("%s: skipping symlink %s -> %s", archive, member.name, member.linkname)
            continue
        entries.append(_Entry(name, "dir" if member.isdir() else "file", member))
    return entries


def _plan_zip(archive: Path, zf: zipfile.ZipFile) -> list[_Entry]:
    entries = []
    for info in zf.infolist():
        name = _safe_name(archive, info.filename)
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            target = zf.read(info).decode("utf-8", errors="replace")
            _check_link(archive, info.filename, target, posixpath.dirname(name or ""))
            log.debug("%s: skipping symlink %s -> %s", archive, info.filename, target)
            continue
        if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            raise _reject(archive, info.filename, "is a device, fifo or socket")
        if name is not None:
            entries.append(_Entry(name, "dir" if info.is_dir() else "file", info))
    return entries


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


@contextmanager
def _open(archive: Path, check_dir: Path) -> Iterator[tuple[list[_Entry], Callable[[_Entry], IO[bytes]]]]:
    """The checked member list and a function that opens one member's content, for a tar or zip ``archive``.

    Tar is tried first: an uncompressed tar ending in a small zip member can pass ``zipfile.is_zipfile``.
    """
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            entries = _plan_tar(archive, tf, check_dir)

            def open_tar(entry: _Entry) -> IO[bytes]:
                fh = tf.extractfile(entry.member)  # a hard link opens its target's content
                if fh is None:
                    raise _reject(archive, entry.member.name, "has no content to extract")
                return fh

            yield entries, open_tar
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            yield _plan_zip(archive, zf), lambda entry: zf.open(entry.member)
    else:
        raise WakeforgeError(f"{archive} is neither a zip nor a tar archive; delete it and download it again")


def _new_temp_dir(dest: Path) -> Path:
    """An empty folder beside ``dest`` (same file system, so the final rename is atomic)."""
    while True:
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.extracting")
        try:
            tmp.mkdir()
            return tmp
        except FileExistsError:
            continue


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, *, include: Callable[[str], bool] | None = None) -> list[Path]:
    """Extract the members of ``archive`` that ``include(name)`` accepts into the new folder ``dest``.

    ``name`` is the member's normalised relative path ("clips/a.wav"). ``dest`` must not exist or
    be an empty folder. Returns the extracted files (not folders), sorted. Raises
    :class:`WakeforgeError` for an unsafe member (nothing is extracted), a damaged archive, or a
    non-empty ``dest``; the temporary folder is always removed on failure.
    """
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise WakeforgeError(f"cannot extract {archive}: the file does not exist; download it again")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise WakeforgeError(f"cannot extract {archive} into {dest}: it already exists and is not an empty folder; remove it and re-run")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_dir(dest)
    try:
        written = []
        with _open(archive, tmp) as (entries, open_member):
            for entry in entries:
                if include is not None and not include(entry.name):
                    continue
                target = tmp.joinpath(*entry.name.split("/"))
                if entry.kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with open_member(entry) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                written.append(entry.name)
        os.replace(tmp, dest)  # tmp was made with mkdir's default mode, so dest gets the usual permissions
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, _DAMAGED):
            raise WakeforgeError(
                f"could not extract {archive} into {dest} ({type(exc).__name__}: {exc}); the archive may be damaged or truncated: "
                "delete it and download it again"
            ) from None
        raise
    log.info("extracted %d files from %s into %s", len(written), archive, dest)
    return sorted(dest.joinpath(*name.split("/")) for name in set(written))
