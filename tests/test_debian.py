"""Debian packages fetched without root (wakeforge.debian): the ar/tar unpacking, pinned downloads
from a local mirror, and the manifest that says what is missing and why."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import stat
import tarfile
from pathlib import Path

import pytest
from fixture_server import FixtureServer

from wakeforge import debian
from wakeforge.audio import write_json
from wakeforge.errors import WakeforgeError

FAST = {"backoff_s": 0.01, "timeout_s": 5.0, "retries": 1, "min_free_bytes": 0, "progress": False}


def _ar(members: dict[str, bytes]) -> bytes:
    """An ar archive laid out as dpkg-deb writes one (GNU ar headers, 2-byte aligned members)."""
    out = bytearray(b"!<arch>\n")
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        assert len(header) == 60
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def _deb(files: dict[str, bytes], links: dict[str, str] | None = None, compression: str = "xz") -> bytes:
    """A .deb whose data.tar holds ``files`` (path -> bytes) and ``links`` (path -> relative target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tf:
        for path, data in files.items():
            info = tarfile.TarInfo(f"./{path}")
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(f"./{path}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return _ar({"debian-binary": b"2.0\n", "control.tar.xz": b"", f"data.tar.{compression}": buf.getvalue()})


def _package(name: str, data: bytes, arch: str = "amd64") -> debian.DebPackage:
    return debian.DebPackage(name, "1.0-1", {arch: debian.DebFile(f"pool/main/x/{name}_1.0-1_{arch}.deb", len(data), hashlib.sha256(data).hexdigest())})


def test_unpack_keeps_files_and_soname_links(tmp_path):
    deb = tmp_path / "lib.deb"
    deb.write_bytes(_deb({"usr/lib/libx.so.2.2": b"ELF...", "usr/bin/tool": b"#!/bin/sh\necho hi\n"}, {"usr/lib/libx.so.1": "libx.so.2.2"}))
    debian.unpack_deb(deb, tmp_path / "root")
    link = tmp_path / "root" / "usr" / "lib" / "libx.so.1"
    assert link.is_symlink() and link.read_bytes() == b"ELF..."
    tool = tmp_path / "root" / "usr" / "bin" / "tool"
    assert tool.read_bytes().startswith(b"#!/bin/sh") and tool.stat().st_mode & stat.S_IXUSR
    assert debian.lib_dirs(tmp_path / "root") == [tmp_path / "root" / "usr" / "lib"]


@pytest.mark.skipif(not os.path.exists("/usr/bin/dpkg-deb"), reason="needs dpkg-deb to build a real package")
def test_unpack_a_package_built_by_dpkg_deb(tmp_path):
    import subprocess

    src = tmp_path / "src"
    (src / "DEBIAN").mkdir(parents=True)
    (src / "DEBIAN" / "control").write_text("Package: wf-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
    (src / "usr" / "share" / "wf").mkdir(parents=True)
    (src / "usr" / "share" / "wf" / "a.txt").write_text("hello\n")
    os.symlink("a.txt", src / "usr" / "share" / "wf" / "b.txt")
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(src), str(tmp_path / "wf.deb")], check=True, capture_output=True)
    debian.unpack_deb(tmp_path / "wf.deb", tmp_path / "root")
    assert (tmp_path / "root" / "usr" / "share" / "wf" / "b.txt").read_text() == "hello\n"


def test_unpack_refuses_a_link_out_of_the_root_and_non_packages(tmp_path):
    bad = tmp_path / "bad.deb"
    bad.write_bytes(_deb({"usr/a": b"x"}, {"usr/evil": "../../../etc/passwd"}))
    with pytest.raises(WakeforgeError, match=r"refusing to extract .*bad.deb: member './usr/evil' is a link to '\.\./\.\./\.\./etc/passwd', outside"):
        debian.unpack_deb(bad, tmp_path / "root")
    assert not (tmp_path / "root" / "usr" / "a").exists()  # nothing of it was unpacked
    escape = tmp_path / "escape.deb"
    escape.write_bytes(_deb({"../outside": b"x"}))
    with pytest.raises(WakeforgeError, match="points outside the destination folder"):
        debian.unpack_deb(escape, tmp_path / "root4")
    assert not (tmp_path / "outside").exists()
    not_deb = tmp_path / "page.deb"
    not_deb.write_bytes(b"<html>404</html>")
    with pytest.raises(WakeforgeError, match="not a Debian package"):
        debian.unpack_deb(not_deb, tmp_path / "root2")
    truncated = tmp_path / "short.deb"
    truncated.write_bytes(_deb({"usr/a": b"x" * 1000})[:200])
    with pytest.raises(WakeforgeError, match="truncated"):
        debian.unpack_deb(truncated, tmp_path / "root3")


def test_fetch_from_a_mirror_verifies_and_unpacks(tmp_path):
    one, two = _deb({"usr/bin/prog": b"1"}), _deb({"usr/lib/libp.so.1": b"2"}, compression="gz")
    packages = (_package("prog", one), _package("libprog1", two))
    files = {f"/debian/{p.files['amd64'].pool_path}": data for p, data in zip(packages, (one, two))}
    with FixtureServer(files) as srv:
        # the first mirror lacks the files (404): the second one serves them
        manifest = debian.fetch("prog", tmp_path / "prog", [srv.url + "/missing", srv.url + "/debian"], "amd64", packages, **FAST)
    assert manifest["available"], manifest
    root = tmp_path / "prog" / "root"
    assert manifest["root"] == "root" and manifest["packages"] == {"prog": "1.0-1", "libprog1": "1.0-1"}
    assert debian.resolve(tmp_path / "prog" / "prog.json", manifest["root"]) == root
    assert not (tmp_path / "prog" / "debs").exists()  # the .deb files go once unpacked
    assert (root / "usr" / "bin" / "prog").read_bytes() == b"1" and (root / "usr" / "lib" / "libp.so.1").read_bytes() == b"2"
    write_json(tmp_path / "prog.json", manifest)
    assert debian.read_manifest(tmp_path / "prog.json") == json.loads((tmp_path / "prog.json").read_text())


def test_fetch_failures_give_a_reason_not_an_error(tmp_path):
    data = _deb({"usr/bin/prog": b"1"})
    package = _package("prog", data)
    with FixtureServer({f"/{package.files['amd64'].pool_path}": data}) as srv:
        srv.faults[f"/{package.files['amd64'].pool_path}"] = "corrupt"
        corrupt = debian.fetch("prog", tmp_path / "a", [srv.url], "amd64", [package], **FAST)
    assert not corrupt["available"] and "sha256" in corrupt["reason"] and "config key assets.debian_mirrors" in corrupt["reason"]
    assert not (tmp_path / "a" / "root").exists()
    # nothing listens on port 9 (discard) of the loopback address
    offline = debian.fetch("prog", tmp_path / "b", ["http://127.0.0.1:9"], "amd64", [package], **FAST)
    assert not offline["available"] and "127.0.0.1:9" in offline["reason"]
    other = debian.fetch("prog", tmp_path / "c", [srv.url], "riscv64", [package], **FAST)
    assert not other["available"] and "no pinned Debian package" in other["reason"]


def test_debian_arch_and_pins():
    assert debian.debian_arch("x86_64") == "amd64" and debian.debian_arch("aarch64") == "arm64"
    assert debian.debian_arch("riscv64") is None
    for group in debian.PACKAGES.values():
        for package in group:
            # a program for both architectures, or data for all
            assert set(package.files) in ({"amd64", "arm64"}, {"all"}), package.name
            for arch, file in package.files.items():
                assert len(file.sha256) == 64 and file.size > 0
                assert file.pool_path.endswith(f"/{package.name}_{package.version.split(':')[-1]}_{arch}.deb")


def test_probe_reports_why_a_program_does_not_run(tmp_path):
    assert debian.probe(["echo", "Voices available: a b"], tmp_path) == ("Voices available: a b\n", None)
    output, reason = debian.probe(["sh", "-c", "echo 'error while loading shared libraries: libasound.so.2' >&2; exit 127"], tmp_path)
    assert output is None and reason == "sh does not run (exit 127): error while loading shared libraries: libasound.so.2"
    assert "does not run" in debian.probe([str(tmp_path / "absent")], tmp_path)[1]


def test_read_manifest_rejects_other_files(tmp_path):
    (tmp_path / "m.json").write_text("[1, 2]")
    with pytest.raises(WakeforgeError, match="not a package manifest"):
        debian.read_manifest(tmp_path / "m.json")
    with pytest.raises(WakeforgeError, match="cannot read the package manifest"):
        debian.read_manifest(tmp_path / "absent.json")


def test_data_root_falls_back_to_installed_copies(tmp_path, caplog):
    fetched = tmp_path / "speech/speech.json"
    fetched.parent.mkdir()
    write_json(fetched, {"name": "speech", "available": True, "root": "root"})
    assert debian.data_root(fetched) == tmp_path / "speech/root"
    failed = tmp_path / "music.json"
    write_json(failed, {"name": "music", "available": False, "reason": "connection refused"})
    with caplog.at_level(logging.WARNING, logger="wakeforge.debian"):
        assert debian.data_root(failed) == Path("/")
    assert "Debian music was not fetched (connection refused)" in caplog.text
