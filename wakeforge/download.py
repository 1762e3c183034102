"""Robust HTTP downloads: mirrors in order, resume, retries, and size / checksum verification.

:func:`download` writes the bytes to ``<dest>.part`` and renames that onto ``dest`` only after its
size and checksum verify, so ``dest`` is either absent or a good copy.

* Resume: an existing ``.part`` (from an interrupted attempt, or left by an earlier process) is
  continued with ``Range: bytes=<n>-``. A 206 answer is appended; a 200 (the server ignored the
  range) starts again from byte 0; a 416 means the part may already be complete, and it is verified.
* Retries: connection errors, stalls (a read timeout), truncated bodies, 5xx and 429 are retried on
  the same mirror with exponential backoff, each retry resuming from the ``.part``. An attempt that
  makes the part longer than it has ever been does not use up a retry, so a large file on a flaky
  line still completes. 404, 403, 410 and other 4xx move straight on to the next mirror.
* Verification: the checksum is computed while the bytes stream in (an existing part is hashed once
  when resuming), so a large file is not read twice. A copy that fails verification is deleted and
  the next mirror is tried.
* Disk space: before a transfer of known length, ``remaining bytes + min_free_bytes`` must be free.

Checksums (:class:`Checksum`): ``sha256``, ``md5`` and ``git-sha1``, a git blob id (sha1 of
``b"blob <size>\\0"`` followed by the content), which Hugging Face lists for small files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3
from tqdm import tqdm

import wakeforge

from .errors import WakeforgeError

log = logging.getLogger(__name__)

ALGORITHMS = ("sha256", "md5", "git-sha1")
_HEX_DIGITS = {"sha256": 64, "md5": 32, "git-sha1": 40}
MAX_BACKOFF_S = 60.0
USER_AGENT = f"wakeforge/{getattr(wakeforge, '__version__', 'dev')}"
_READ_BLOCK = 1 << 20
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIED_RANGE = re.compile(r"^bytes\s+\*/(\d+)$")


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algorithm`` is one of :data:`ALGORITHMS`; ``hexdigest`` is stored lower-case."""

    algorithm: str
    hexdigest: str

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise WakeforgeError(f"unknown checksum algorithm {self.algorithm!r}; use one of {', '.join(ALGORITHMS)}")
        digits = str(self.hexdigest).strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{_HEX_DIGITS[self.algorithm]}}}", digits):
            raise WakeforgeError(
                f"{self.algorithm} checksum {self.hexdigest!r} is not {_HEX_DIGITS[self.algorithm]} hex digits; fix the pinned checksum"
            )
        object.__setattr__(self, "hexdigest", digits)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"


# --------------------------------------------------------------------------------------------
# Hashing and verification
# --------------------------------------------------------------------------------------------


def _new_hash(algorithm: str, size: int | None):
    """A hashlib object for ``algorithm``; ``git-sha1`` needs the content ``size`` for its header."""
    if algorithm == "git-sha1":
        if size is None:
            raise ValueError("a git-sha1 digest needs the size of the content")
        h = hashlib.new("sha1", usedforsecurity=False)
        h.update(b"blob %d\0" % size)
        return h
    if algorithm == "md5":
        return hashlib.new("md5", usedforsecurity=False)
    return hashlib.new(algorithm)


def _hash_into(h, path: Path, nbytes: int | None = None) -> None:
    """Feed the first ``nbytes`` of ``path`` (all of it when None) into ``h``, 1 MiB at a time."""
    remaining = nbytes
    with open(path, "rb") as fh:
        while remaining is None or remaining > 0:
            block = fh.read(_READ_BLOCK if remaining is None else min(_READ_BLOCK, remaining))
            if not block:
                break
            h.update(block)
            if remaining is not None:
                remaining -= len(block)


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest of the file at ``path`` (``git-sha1`` uses the file's size in its header)."""
    if algorithm not in ALGORITHMS:
        raise WakeforgeError(f"unknown checksum algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    path = Path(path)
    h = _new_hash(algorithm, path.stat().st_size if algorithm == "git-sha1" else None)
    _hash_into(h, path)
    return h.hexdigest()


def _problem(path: Path, checksum: Checksum | None, size: int | None, digest: _PartDigest | None = None) -> str | None:
    """What is wrong with the file at ``path`` ("has 3 bytes, expected 5"), or None when it verifies."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"has {actual_size} bytes, expected {size}"
    if checksum is None:
        return None
    actual = digest.hexdigest(path) if digest is not None else file_digest(path, checksum.algorithm)
    if actual != checksum.hexdigest:
        return f"has {checksum.algorithm} {actual}, expected {checksum.hexdigest}"
    return None


def verify_file(path: str | os.PathLike, checksum: Checksum | None, size: int | None = None) -> None:
    """Raise :class:`WakeforgeError` unless the file at ``path`` has ``size`` bytes and ``checksum`` (each when given)."""
    path = Path(path)
    if not path.is_file():
        raise WakeforgeError(f"{path} does not exist (expected {checksum or 'a downloaded file'}); download it again")
    problem = _problem(path, checksum, size)
    if problem is not None:
        raise WakeforgeError(f"{path} {problem}; delete it and download it again, or replace it with a verified copy")


class _PartDigest:
    """The checksum of the growing ``.part`` file, updated as bytes are appended so it is read at most once."""

    def __init__(self, checksum: Checksum | None):
        self.checksum = checksum
        self._hash = None
        self._covered = 0  # how many leading bytes of the part the hash has seen
        self._total: int | None = None  # the size a git-sha1 header was made for

    def start(self, part: Path, offset: int, total: int | None) -> None:
        """Before appending at ``offset``: make the hash cover the part's first ``offset`` bytes."""
        if self.checksum is None:
            return
        git = self.checksum.algorithm == "git-sha1"
        if self._hash is not None and self._covered == offset and (not git or self._total == total):
            return  # an earlier attempt of this call already hashed exactly these bytes
        self.reset()
        if git and total is None:
            return  # the size is unknown until the end: hash the finished file instead
        self._hash = _new_hash(self.checksum.algorithm, total)
        self._total = total
        if offset:
            _hash_into(self._hash, part, offset)
            self._covered = offset

    def update(self, chunk: bytes) -> None:
        if self._hash is not None:
            self._hash.update(chunk)
            self._covered += len(chunk)

    def reset(self) -> None:
        self._hash = None
        self._covered = 0
        self._total = None

    def hexdigest(self, part: Path) -> str:
        """Digest of the finished part: the running hash when it covers the whole file, else read from disk."""
        assert self.checksum is not None
        size = part.stat().st_size
        git = self.checksum.algorithm == "git-sha1"
        if self._hash is not None and self._covered == size and (not git or self._total == size):
            return self._hash.hexdigest()
        return file_digest(part, self.checksum.algorithm)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


class _Retry(Exception):
    """A transient failure (network, 5xx, truncated body): try the same mirror again, resuming."""


class _MirrorFailed(Exception):
    """This mirror cannot deliver a good copy: move on to the next one."""


def new_session() -> requests.Session:
    """A ``requests.Session`` with the wakeforge User-Agent (redirects are followed, as by default)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def _human(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"  # unreachable


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (``reason``, exception args, ``__cause__``, ``__context__``)."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(x for x in (getattr(e, "reason", None), *e.args, e.__cause__, e.__context__) if isinstance(x, BaseException))


def _short(exc: BaseException) -> str:
    """A one-line reason for a network exception: the OS error text when there is one ("Connection refused")."""
    for e in _causes(exc):
        if isinstance(e, OSError) and not isinstance(e, requests.RequestException) and e.strerror:
            return e.strerror
    first = exc.args[0] if exc.args else exc
    text = first if isinstance(first, str) else str(first)
    text = " ".join(re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>:?\s*", "", text).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _int_header(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _body_chunks(raw, chunk_bytes: int) -> Iterator[bytes]:
    """The undecoded body in pieces of at most ``chunk_bytes``, yielding what arrived before a connection drops."""
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # urllib3 < 2.3: stream() may lose the last partial piece on a drop (it is fetched again)
        yield from raw.stream(chunk_bytes, decode_content=False)
        return
    while chunk := read1(chunk_bytes, decode_content=False):
        yield chunk


# --------------------------------------------------------------------------------------------
# One download: the .part file and the requests that fill it
# --------------------------------------------------------------------------------------------


@dataclass
class _Transfer:
    asset: str
    dest: Path
    checksum: Checksum | None
    size: int | None
    timeout_s: float
    chunk_bytes: int
    progress: bool
    min_free_bytes: int
    session: requests.Session
    part: Path = field(init=False)
    digest: _PartDigest = field(init=False)

    def __post_init__(self) -> None:
        self.part = self.dest.with_name(self.dest.name + ".part")
        self.digest = _PartDigest(self.checksum)

    def part_size(self) -> int:
        try:
            return self.part.stat().st_size
        except FileNotFoundError:
            return 0

    def discard_part(self) -> None:
        self.part.unlink(missing_ok=True)
        self.digest.reset()

    def from_mirror(self, url: str, retries: int, backoff_s: float) -> None:
        """Complete the part from ``url`` and verify it; raises :class:`_MirrorFailed` (part deleted if it was bad)."""
        failures = attempts = 0
        longest = self.part_size()
        while True:
            attempts += 1
            try:
                self.attempt(url)
                break
            except _Retry as exc:
                if self.part_size() > longest:
                    longest = self.part_size()
                    failures = 0  # progress: this failure does not use up a retry
                else:
                    failures += 1
                if failures > retries:
                    raise _MirrorFailed(f"{exc} after {attempts} attempt{'s' if attempts > 1 else ''}") from None
                delay = min(backoff_s * 2 ** max(failures - 1, 0), MAX_BACKOFF_S)
                log.warning("%s: %s from %s; retrying in %.2g s", self.asset, exc, url, delay)
                time.sleep(delay)
        problem = _problem(self.part, self.checksum, self.size, self.digest)
        if problem is not None:
            self.discard_part()
            raise _MirrorFailed(f"the downloaded copy {problem}")

    def attempt(self, url: str) -> None:
        """One request (two when a 416 showed the part is unusable): fill the part until the body ends."""
        for _ in range(2):
            offset = self.part_size()
            if self.size is not None and offset > self.size:
                log.warning("%s: %s is longer than the expected %d bytes; starting again", self.asset, self.part, self.size)
                self.discard_part()
                offset = 0
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                response = self.session.get(url, headers=headers, stream=True, timeout=(self.timeout_s, self.timeout_s))
            except requests.exceptions.SSLError as exc:
                raise _MirrorFailed(f"TLS error ({_short(exc)})") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise _Retry(self._network_reason(exc)) from None
            except requests.RequestException as exc:
                raise _MirrorFailed(_short(exc)) from None
            with response:
                if self._receive(response, offset):
                    return

    def _receive(self, response: requests.Response, offset: int) -> bool:
        """Handle one answer; False when the part was dropped after a 416 and the request should be repeated."""
        status = response.status_code
        if status == 416 and offset:
            return self._part_complete(response, offset)
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status} {response.reason or ''}".strip())
        if status not in (200, 206):
            raise _MirrorFailed(f"HTTP {status} {response.reason or ''}".strip())
        if status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
            start = int(match.group(1)) if match else None
            total = int(match.group(3)) if match and match.group(3) != "*" else None
            if start != offset:
                self.discard_part()
                raise _Retry(f"asked for bytes from {offset} but the server sent Content-Range {response.headers.get('Content-Range')!r}")
        else:
            if offset:
                log.info("%s: the server ignored the range request; downloading from the start", self.asset)
                offset = 0
            total = _int_header(response.headers.get("Content-Length"))
        if self.size is not None and total is not None and total != self.size:
            raise _MirrorFailed(f"the server reports {total} bytes, expected {self.size}")
        expected = self.size if self.size is not None else total
        if expected is not None:
            self._check_disk_space(expected - offset)
        self.digest.start(self.part, offset, expected)
        self._stream(response, offset, expected)
        return True

    def _part_complete(self, response: requests.Response, offset: int) -> bool:
        """A 416 to ``Range: bytes=<offset>-``: keep the part if it may be the whole file, else drop it."""
        total = self.size
        match = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", "").strip())
        if total is None and match:
            total = int(match.group(1))
        if total == offset or (total is None and self.checksum is not None):
            log.info("%s: %s already holds all %d bytes; verifying it", self.asset, self.part, offset)
            return True  # from_mirror verifies it
        log.warning("%s: the server refused a range from byte %d; downloading from the start", self.asset, offset)
        self.discard_part()
        return False

    def _check_disk_space(self, remaining: int) -> None:
        folder = self.dest.parent
        free = shutil.disk_usage(folder).free
        needed = remaining + self.min_free_bytes
        if free < needed:
            raise WakeforgeError(
                f"not enough disk space to download {self.asset}: {needed} bytes ({_human(needed)}: {remaining} to download plus "
                f"{self.min_free_bytes} kept free) are needed but {free} bytes ({_human(free)}) are free in {folder}; "
                "free some space or point the output folder at a bigger disk"
            )

    def _stream(self, response: requests.Response, offset: int, expected: int | None) -> None:
        """Append the body to the part (truncating it first when ``offset`` is 0), hashing and counting bytes."""
        position = offset
        bar = tqdm(
            total=expected, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=self.asset, file=sys.stderr, disable=not self.progress, mininterval=0.5,
        )  # fmt: skip
        try:
            with bar, open(self.part, "ab" if offset else "wb") as fh:
                try:
                    for chunk in _body_chunks(response.raw, self.chunk_bytes):
                        fh.write(chunk)
                        self.digest.update(chunk)
                        position += len(chunk)
                        bar.update(len(chunk))
                        if expected is not None and position > expected:
                            break
                except (urllib3.exceptions.HTTPError, requests.RequestException) as exc:
                    raise _Retry(self._network_reason(exc)) from None
        except OSError as exc:
            raise WakeforgeError(
                f"could not write {self.part} while downloading {self.asset} ({exc}); check free space and permissions in {self.part.parent}"
            ) from None
        if expected is not None and position > expected:
            self.discard_part()
            raise _MirrorFailed(f"the server sent more than the expected {expected} bytes")
        if expected is not None and position < expected:
            raise _Retry(f"the transfer ended early ({position} of {expected} bytes)")

    def _network_reason(self, exc: BaseException) -> str:
        causes = list(_causes(exc))
        if any(isinstance(e, (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)) for e in causes) and not any(
            isinstance(e, urllib3.exceptions.NewConnectionError) for e in causes
        ):
            return f"no connection within {self.timeout_s:g} s"
        if any(isinstance(e, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)) for e in causes):
            return f"no data for {self.timeout_s:g} s (the server stalled)"
        return f"connection failed ({_short(exc)})"


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def download(
    urls: Sequence[str],
    dest: str | os.PathLike,
    *,
    asset: str,
    checksum: Checksum | None = None,
    size: int | None = None,
    retries: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 30.0,
    chunk_bytes: int = 1 << 20,
    progress: bool = True,
    min_free_bytes: int = 256 << 20,
    session: requests.Session | None = None,
    hint: str | None = None,
) -> Path:
    """Download one file from the mirrors ``urls`` (tried in order) to ``dest`` and return ``dest``.

    ``asset`` names the file in messages and on the progress bar. The copy must have ``size``
    bytes and match ``checksum`` (each when given). If ``dest`` already exists and matches a given
    ``checksum`` it is returned without any request; without a checksum it is downloaded again.
    ``retries`` is per mirror, with a delay of ``backoff_s * 2**n`` seconds (at most
    :data:`MAX_BACKOFF_S`); ``timeout_s`` bounds both connecting and each wait for data. ``hint``
    is appended to the error raised when every mirror fails (e.g. the config key of the mirrors).

    Raises :class:`WakeforgeError` when no mirror delivers a verified copy (the message names every
    URL and why it failed), when the disk is too full, or when the ``.part`` cannot be written.
    """
    dest = Path(dest)
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise WakeforgeError(f"no download URL is configured for {asset}; list a mirror in the config or put a verified copy at {dest}")
    if checksum is not None and dest.is_file():
        problem = _problem(dest, checksum, size)
        if problem is None:
            log.info("%s: %s is already present and verified", asset, dest)
            return dest
        log.warning("%s: the existing %s %s; downloading it again", asset, dest, problem)
    dest.parent.mkdir(parents=True, exist_ok=True)

    own_session = session is None
    transfer = _Transfer(
        asset=asset, dest=dest, checksum=checksum, size=size, timeout_s=timeout_s, chunk_bytes=max(1, chunk_bytes),
        progress=progress, min_free_bytes=min_free_bytes, session=session if session is not None else new_session(),
    )  # fmt: skip
    failures: list[str] = []
    try:
        for url in urls:
            log.info("downloading %s from %s", asset, url)
            try:
                transfer.from_mirror(url, max(0, retries), backoff_s)
            except _MirrorFailed as exc:
                log.warning("%s: %s failed: %s", asset, url, exc)
                failures.append(f"{url}: {exc}")
                continue
            os.replace(transfer.part, dest)
            log.info("%s: saved %s (%s)", asset, dest, _human(dest.stat().st_size))
            return dest
    finally:
        if own_session:
            transfer.session.close()
    message = (
        f"could not download {asset}: {'; '.join(failures)}. "
        f"Check the internet connection, put a verified copy at {dest}, or list a working mirror in the config."
    )
    raise WakeforgeError(f"{message} {hint}" if hint else message)
