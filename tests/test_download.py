"""Tests for wakeforge.download against a local fixture server with injected faults (no internet)."""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
from collections import namedtuple

import pytest
import requests
from fixture_server import FixtureServer

from wakeforge import download as dl
from wakeforge.download import Checksum, download, file_digest, verify_file
from wakeforge.errors import WakeforgeError

DATA = bytes(range(256)) * 1200  # 300 KiB, several read chunks
SHA = Checksum("sha256", hashlib.sha256(DATA).hexdigest())
FAST = {"backoff_s": 0.01, "timeout_s": 5.0, "progress": False, "min_free_bytes": 0}


@pytest.fixture
def server():
    with FixtureServer({"/data.bin": DATA, "/other/data.bin": DATA}) as srv:
        yield srv


def _ranges(srv: FixtureServer, path: str = "/data.bin") -> list[str | None]:
    return [rng for rng, _ in srv.paths_requested(path)]


def test_plain_download_verifies_and_leaves_no_part(server, tmp_path):
    dest = tmp_path / "sub" / "data.bin"
    assert download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, size=len(DATA), **FAST) == dest
    assert dest.read_bytes() == DATA
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert server.requests == [("/data.bin", None, 200)]


def test_resume_after_dropped_connection(server, tmp_path):
    server.faults["/data.bin"] = "drop"
    dest = tmp_path / "data.bin"
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, chunk_bytes=4096, **FAST)
    assert dest.read_bytes() == DATA
    first, second = server.paths_requested("/data.bin")
    assert first == (None, 200)
    assert second[1] == 206
    start = int(second[0].removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= len(DATA) // 2


def test_drop_with_progress_does_not_use_up_retries(server, tmp_path):
    # The dropped attempt made the part longer, so even retries=0 allows the resuming request.
    server.faults["/data.bin"] = "drop"
    dest = tmp_path / "data.bin"
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, retries=0, chunk_bytes=4096, **FAST)
    assert dest.read_bytes() == DATA
    assert len(server.requests) == 2


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(DATA[:1000])
    server.faults["/data.bin"] = "norange"
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert dest.read_bytes() == DATA
    assert server.requests == [("/data.bin", "bytes=1000-", 200)]


def test_part_from_previous_process_is_resumed(server, tmp_path, monkeypatch):
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(DATA[:123_456])
    hashed = []
    real = dl._hash_into
    monkeypatch.setattr(dl, "_hash_into", lambda h, path, nbytes=None: (hashed.append(nbytes), real(h, path, nbytes)))
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, size=len(DATA), **FAST)
    assert dest.read_bytes() == DATA
    assert server.requests == [("/data.bin", "bytes=123456-", 206)]
    assert hashed == [123_456]  # only the existing bytes are read back; the new ones are hashed while streaming


def test_complete_part_answered_416_is_verified(server, tmp_path):
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(DATA)
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert dest.read_bytes() == DATA
    assert server.requests == [("/data.bin", f"bytes={len(DATA)}-", 416)]


def test_overlong_part_answered_416_starts_again(server, tmp_path):
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(DATA + b"junk")
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, retries=0, **FAST)
    assert dest.read_bytes() == DATA
    assert _ranges(server) == [f"bytes={len(DATA) + 4}-", None]


def test_corrupt_mirror_falls_back_and_leaves_nothing_bad(server, tmp_path):
    server.faults["/data.bin"] = "corrupt"
    dest = tmp_path / "data.bin"
    download([server.url + "/data.bin", server.url + "/other/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert dest.read_bytes() == DATA
    assert not (tmp_path / "data.bin.part").exists()
    assert [p for p, _, _ in server.requests] == ["/data.bin", "/other/data.bin"]
    assert server.requests[1][1] is None  # the bad copy was not resumed


def test_every_mirror_corrupt_leaves_no_file(server, tmp_path):
    server.faults["/data.bin"] = "corrupt"
    dest = tmp_path / "data.bin"
    with pytest.raises(WakeforgeError, match="sha256") as err:
        download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert "expected " + SHA.hexdigest in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_404_falls_back_to_next_mirror_without_retrying(server, tmp_path):
    server.faults["/data.bin"] = "404"
    dest = tmp_path / "data.bin"
    download([server.url + "/data.bin", server.url + "/other/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert dest.read_bytes() == DATA
    assert server.paths_requested("/data.bin") == [(None, 404)]


def test_500_is_retried_on_the_same_mirror(server, tmp_path):
    server.faults["/data.bin"] = "500"
    dest = tmp_path / "data.bin"
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert server.paths_requested("/data.bin") == [(None, 500), (None, 200)]


def test_all_mirrors_failing_names_asset_and_every_url(server, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    urls = [server.url + "/missing.bin", server.url + "/also/missing.bin", f"http://127.0.0.1:{closed_port}/refused.bin"]
    with pytest.raises(WakeforgeError) as err:
        download(urls, tmp_path / "x.bin", asset="the demo set", retries=1, hint="(config key: demo.urls)", **FAST)
    message = str(err.value)
    assert message.startswith("could not download the demo set: ")
    for url in urls:
        assert url in message
    assert "HTTP 404" in message and "Connection refused" in message
    assert f"put a verified copy at {tmp_path / 'x.bin'}" in message
    assert message.endswith("list a working mirror in the config. (config key: demo.urls)")
    assert "\n" not in message


def test_stall_is_retried_after_read_timeout(server, tmp_path):
    server.faults["/data.bin"] = "stall"
    dest = tmp_path / "data.bin"
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, **{**FAST, "timeout_s": 0.5, "retries": 2})
    assert dest.read_bytes() == DATA
    assert len(server.paths_requested("/data.bin")) == 2


def test_stall_without_retries_fails_clearly(server, tmp_path):
    server.faults["/data.bin"] = "stall"
    with pytest.raises(WakeforgeError, match=r"could not download demo: .*/data.bin: no data for 0.5 s \(the server stalled\)"):
        download([server.url + "/data.bin"], tmp_path / "data.bin", asset="demo", checksum=SHA, **{**FAST, "timeout_s": 0.5, "retries": 0})
    assert not (tmp_path / "data.bin").exists()


def test_not_enough_disk_space(server, tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(WakeforgeError) as err:
        download([server.url + "/data.bin"], tmp_path / "data.bin", asset="demo", **{**FAST, "min_free_bytes": 4096})
    message = str(err.value)
    assert "demo" in message and str(len(DATA) + 4096) in message and "1000 bytes" in message and str(tmp_path) in message
    assert not (tmp_path / "data.bin").exists()


def test_disk_space_counts_only_the_remaining_bytes(server, tmp_path, monkeypatch):
    (tmp_path / "data.bin.part").write_bytes(DATA[:200_000])
    usage = namedtuple("usage", "total used free")
    seen = []
    monkeypatch.setattr(shutil, "disk_usage", lambda path: (seen.append(path), usage(10**9, 0, len(DATA) - 200_000 + 10))[1])
    download([server.url + "/data.bin"], tmp_path / "data.bin", asset="demo", **{**FAST, "min_free_bytes": 10})
    assert seen == [tmp_path]


def test_size_mismatch_rejects_mirror(server, tmp_path):
    server.add("/short.bin", DATA[:-1])
    dest = tmp_path / "data.bin"
    download([server.url + "/short.bin", server.url + "/data.bin"], dest, asset="demo", size=len(DATA), **FAST)
    assert dest.read_bytes() == DATA
    with pytest.raises(WakeforgeError, match=f"short.bin: the server reports {len(DATA) - 1} bytes, expected {len(DATA)}"):
        download([server.url + "/short.bin"], tmp_path / "again.bin", asset="demo", size=len(DATA), **FAST)
    assert not (tmp_path / "again.bin").exists() and not (tmp_path / "again.bin.part").exists()


@pytest.mark.parametrize(
    "checksum",
    [
        Checksum("md5", "b1946ac92492d2347c6235b4d2611184"),
        Checksum("git-sha1", "ce013625030ba8dba906f756967f9e9ca394464a"),
        Checksum("sha256", "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03"),
    ],
    ids=lambda c: c.algorithm,
)
def test_checksum_algorithms(server, tmp_path, checksum):
    server.add("/hello.txt", b"hello\n")
    dest = tmp_path / "hello.txt"
    download([server.url + "/hello.txt"], dest, asset="hello", checksum=checksum, **FAST)
    assert file_digest(dest, checksum.algorithm) == checksum.hexdigest
    verify_file(dest, checksum, 6)
    wrong = Checksum(checksum.algorithm, "0" * len(checksum.hexdigest))
    with pytest.raises(WakeforgeError, match=f"{dest} has {checksum.algorithm} {checksum.hexdigest}, expected 0+;"):
        verify_file(dest, wrong)


def test_git_sha1_streamed_without_known_size_matches(server, tmp_path):
    # No size given: the git header needs the Content-Length, and the digest is computed while streaming.
    dest = tmp_path / "data.bin"
    blob = hashlib.sha1(b"blob %d\0" % len(DATA) + DATA).hexdigest()
    download([server.url + "/data.bin"], dest, asset="demo", checksum=Checksum("git-sha1", blob), **FAST)
    assert dest.read_bytes() == DATA


def test_verify_file_size_and_missing(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    verify_file(path, None, 3)
    with pytest.raises(WakeforgeError, match="has 3 bytes, expected 4"):
        verify_file(path, None, 4)
    with pytest.raises(WakeforgeError, match="does not exist"):
        verify_file(tmp_path / "nope.bin", SHA)


def test_bad_checksum_spec_is_a_clear_error():
    with pytest.raises(WakeforgeError, match="unknown checksum algorithm 'sha1'"):
        Checksum("sha1", "0" * 40)
    with pytest.raises(WakeforgeError, match="not 64 hex digits"):
        Checksum("sha256", "abc")


def test_existing_verified_dest_is_kept_without_request(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(DATA)
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert server.requests == []
    dest.write_bytes(b"stale")
    download([server.url + "/data.bin"], dest, asset="demo", checksum=SHA, **FAST)
    assert dest.read_bytes() == DATA and len(server.requests) == 1


def test_progress_bar_and_user_agent(server, tmp_path, capsys):
    seen = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.headers["User-Agent"]))
    download([server.url + "/data.bin"], tmp_path / "a.bin", asset="shown asset", **{**FAST, "progress": True}, session=session)
    assert "shown asset" in capsys.readouterr().err
    download([server.url + "/data.bin"], tmp_path / "b.bin", asset="quiet asset", **FAST)
    captured = capsys.readouterr()
    assert "quiet asset" not in captured.err + captured.out
    assert seen and seen[0].startswith("python-requests")  # a caller's session keeps its own headers
    assert dl.new_session().headers["User-Agent"] == f"wakeforge/{dl.wakeforge.__version__}"


def test_no_urls_and_warning_log(tmp_path, caplog):
    with pytest.raises(WakeforgeError, match="no download URL is configured for demo"):
        download([], tmp_path / "x", asset="demo", **FAST)
    with FixtureServer({"/d": DATA}) as srv, caplog.at_level(logging.WARNING, logger="wakeforge.download"):
        srv.faults["/d"] = "500"
        download([srv.url + "/d"], tmp_path / "d", asset="demo", **FAST)
    assert any("HTTP 500" in r.getMessage() and "retrying" in r.getMessage() for r in caplog.records)


def test_fixture_server_serves_root_head_and_ranges(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.bin").write_bytes(b"0123456789")
    with FixtureServer(root=tmp_path) as srv:
        head = requests.head(srv.url + "/sub/f.bin", timeout=5)
        assert head.status_code == 200 and head.headers["Content-Length"] == "10" and head.headers["Accept-Ranges"] == "bytes"
        part = requests.get(srv.url + "/sub/f.bin", headers={"Range": "bytes=2-4"}, timeout=5)
        assert part.status_code == 206 and part.content == b"234" and part.headers["Content-Range"] == "bytes 2-4/10"
        assert requests.get(srv.url + "/sub/f.bin", headers={"Range": "bytes=10-"}, timeout=5).status_code == 416
        assert requests.get(srv.url + "/../etc/passwd", timeout=5).status_code == 404
        assert requests.get(srv.url + "/nothing", timeout=5).status_code == 404
