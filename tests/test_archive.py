"""Tests for wakeforge.archive: real zip / tar files built in tmp_path, good and malicious."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from wakeforge.archive import safe_extract
from wakeforge.errors import WakeforgeError

GOOD = {"clips/a.wav": b"RIFF-a", "clips/deep/b.wav": b"RIFF-b", "README.txt": b"read me"}


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> Path:
    """Write a tar: (name, data) pairs become regular files, TarInfo objects are added as they are."""
    with tarfile.open(path, mode) as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tf.addfile(info, io.BytesIO(member[1]))
    return path


def _tar_link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def _zip(path: Path, members: list[tuple[str, bytes] | tuple[str, bytes, int]]) -> Path:
    """Write a zip: (name, data) or (name, data, st_mode) for symlinks and special files."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, *mode in members:
            info = zipfile.ZipInfo(name)
            if mode:
                info.external_attr = mode[0] << 16
            zf.writestr(info, data)
    return path


def _assert_nothing_left(dest: Path) -> None:
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temporary folder either


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out" / "dataset"


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_formats_extract_everything(tmp_path, dest, mode):
    archive = _tar(tmp_path / "data.bin", list(GOOD.items()), mode)  # the name says nothing: detected by content
    files = safe_extract(archive, dest)
    assert files == sorted(dest / name for name in GOOD)
    assert {p.relative_to(dest).as_posix(): p.read_bytes() for p in files} == GOOD
    assert [p.name for p in dest.parent.iterdir()] == ["dataset"]


def test_zip_named_like_a_tar_with_include_filter(tmp_path, dest):
    archive = _zip(tmp_path / "data.tar.gz", [*GOOD.items(), ("empty/", b"")])
    files = safe_extract(archive, dest, include=lambda name: name.endswith(".wav"))
    assert files == [dest / "clips/a.wav", dest / "clips/deep/b.wav"]
    assert not (dest / "README.txt").exists() and not (dest / "empty").exists()
    assert (dest / "clips/deep/b.wav").read_bytes() == b"RIFF-b"


def test_tar_include_sees_normalised_names_and_skips_directories_it_rejects(tmp_path, dest):
    dir_info = tarfile.TarInfo("./other")
    dir_info.type = tarfile.DIRTYPE
    archive = _tar(tmp_path / "a.tgz", [dir_info, ("./clips/a.wav", b"A"), ("clips/x/../b.wav", b"B"), ("other/c.txt", b"C")])
    seen = []
    files = safe_extract(archive, dest, include=lambda name: seen.append(name) or name.endswith(".wav"))
    assert seen == ["other", "clips/a.wav", "clips/b.wav", "other/c.txt"]
    assert files == [dest / "clips/a.wav", dest / "clips/b.wav"]
    assert not (dest / "other").exists()


def test_links_inside_dest(tmp_path, dest):
    # Policy: symlinks inside dest are skipped; a tar hard link becomes a copy of its target.
    archive = _tar(
        tmp_path / "a.tar",
        [("clips/a.wav", b"A"), _tar_link("clips/sym.wav", "a.wav"), _tar_link("copy.wav", "clips/a.wav", tarfile.LNKTYPE)],
        "w",
    )
    files = safe_extract(archive, dest)
    assert files == [dest / "clips/a.wav", dest / "copy.wav"]
    assert not (dest / "clips/sym.wav").exists() and not (dest / "clips/sym.wav").is_symlink()
    assert (dest / "copy.wav").read_bytes() == b"A" and not (dest / "copy.wav").is_symlink()

    zdest = tmp_path / "zout"
    zarchive = _zip(tmp_path / "a.zip", [("clips/a.wav", b"A"), ("clips/sym.wav", b"a.wav", stat.S_IFLNK | 0o777)])
    assert safe_extract(zarchive, zdest) == [zdest / "clips/a.wav"]
    assert not (zdest / "clips/sym.wav").is_symlink()


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (("/tmp/evil.wav", b"x"), "absolute path"),
        (("../evil.wav", b"x"), "outside the destination"),
        (("clips/../../evil.wav", b"x"), "outside the destination"),
        (_tar_link("clips/passwd", "/etc/passwd"), "absolute path '/etc/passwd'"),
        (_tar_link("clips/up", "../../etc/passwd"), "outside the destination"),
        (_tar_link("clips/hard", "/etc/passwd", tarfile.LNKTYPE), "absolute path"),
        (_tar_link("clips/hard", "../outside.wav", tarfile.LNKTYPE), "outside the destination"),
        (_tar_link("clips/fifo", "", tarfile.FIFOTYPE), "device or fifo"),
        (_tar_link("clips/tty", "", tarfile.CHRTYPE), "device or fifo"),
    ],
    ids=["absolute", "dotdot", "nested-dotdot", "symlink-abs", "symlink-up", "hardlink-abs", "hardlink-up", "fifo", "chardev"],
)
def test_malicious_tar_is_rejected_whole(tmp_path, dest, bad, why):
    archive = _tar(tmp_path / "evil.tar.gz", [("clips/good.wav", b"ok"), bad])
    bad_name = bad.name if isinstance(bad, tarfile.TarInfo) else bad[0]
    with pytest.raises(WakeforgeError, match=why) as err:
        safe_extract(archive, dest, include=lambda name: name == "clips/good.wav")  # rejected even when not selected
    assert str(archive) in str(err.value) and repr(bad_name) in str(err.value)
    _assert_nothing_left(dest)
    assert not (tmp_path / "evil.wav").exists() and not (tmp_path / "out" / "evil.wav").exists()


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (("/evil.wav", b"x"), "absolute path"),
        (("C:/evil.wav", b"x"), "absolute path"),
        (("../evil.wav", b"x"), "outside the destination"),
        (("a\\..\\..\\evil.wav", b"x"), "outside the destination"),
        (("clips/passwd", b"/etc/passwd", stat.S_IFLNK | 0o777), "absolute path '/etc/passwd'"),
        (("clips/up", b"../../etc/passwd", stat.S_IFLNK | 0o777), "outside the destination"),
        (("clips/fifo", b"", stat.S_IFIFO | 0o644), "device, fifo or socket"),
    ],
    ids=["absolute", "drive", "dotdot", "backslash", "symlink-abs", "symlink-up", "fifo"],
)
def test_malicious_zip_is_rejected_whole(tmp_path, dest, bad, why):
    archive = _zip(tmp_path / "evil.zip", [("clips/good.wav", b"ok"), bad])
    with pytest.raises(WakeforgeError, match=why) as err:
        safe_extract(archive, dest)
    assert str(archive) in str(err.value) and repr(bad[0]) in str(err.value)
    _assert_nothing_left(dest)


def test_dest_must_be_absent_or_empty(tmp_path, dest):
    archive = _zip(tmp_path / "a.zip", list(GOOD.items()))
    dest.mkdir(parents=True)
    assert len(safe_extract(archive, dest)) == 3  # an empty folder is fine
    with pytest.raises(WakeforgeError, match=f"{dest}: it already exists and is not an empty folder"):
        safe_extract(archive, dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["dataset"]


def test_damaged_archives(tmp_path, dest):
    good = _tar(tmp_path / "a.tar.gz", [("big.bin", bytes(range(256)) * 4000)])
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(WakeforgeError, match=f"{truncated}"):
        safe_extract(truncated, dest)
    _assert_nothing_left(dest)

    text = tmp_path / "notes.zip"
    text.write_text("not an archive")
    with pytest.raises(WakeforgeError, match="neither a zip nor a tar archive"):
        safe_extract(text, dest)
    _assert_nothing_left(dest)

    with pytest.raises(WakeforgeError, match="does not exist"):
        safe_extract(tmp_path / "missing.zip", dest)


def test_error_in_include_cleans_up(tmp_path, dest):
    archive = _zip(tmp_path / "a.zip", list(GOOD.items()))

    def boom(name: str) -> bool:
        if name == "README.txt":
            raise KeyError(name)
        return True

    with pytest.raises(KeyError):
        safe_extract(archive, dest, include=boom)
    _assert_nothing_left(dest)


@pytest.mark.skipif(not hasattr(tarfile, "data_filter"), reason="this Python's tarfile predates data_filter (3.11.4); our own checks still run")
def test_tar_data_filter_is_applied_too(tmp_path, dest, monkeypatch):
    def refuse(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
        assert Path(path).parent == dest.parent  # checked against the temporary folder beside dest
        raise tarfile.FilterError(f"refused {member.name}")

    monkeypatch.setattr(tarfile, "data_filter", refuse)
    archive = _tar(tmp_path / "a.tar", [("clips/a.wav", b"A")], "w")
    with pytest.raises(WakeforgeError, match=r"'clips/a.wav' is refused by tarfile's data filter \(refused clips/a.wav\)"):
        safe_extract(archive, dest)
    _assert_nothing_left(dest)
