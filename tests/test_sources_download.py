"""Downloads against a local HTTP server on 127.0.0.1: complete, resumed, truncated, corrupted, 404, offline."""
from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from align import Dictionary, Embeddings, InputError
from align.cli import main
from align.sources import (DownloadError, NotDownloaded, download_dictionary, download_vectors, fetch,
                           find_dictionary, find_vectors)

DICO = "".join(f"word{i} mot{i}\n" for i in range(3000)).encode()  # ~40 kB
VEC = ("3 4\n" + "".join(f"w{i} " + " ".join(f"{(i + 1) * 0.1 + j:.2f}" for j in range(4)) + "\n"
                         for i in range(3))).encode()
VEC_GZ = gzip.compress(VEC)


class Server:
    """A bounded local file server: per-path modes, Range support, a log of requests; stops itself."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.mode: dict[str, str] = {}  # "truncate": announce all, send half; "corrupt": flip bytes; "norange"
        self.log: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.log.append((self.path, rng))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                mode = server.mode.get(self.path, "")
                if mode == "corrupt":
                    body = bytes(b ^ 0x55 if i % 97 == 3 else b for i, b in enumerate(body))
                start = 0
                if rng and mode != "norange":
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if mode == "truncate":
                    payload = payload[: len(payload) // 2]
                    self.close_connection = True
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.stopper = threading.Timer(120, self.stop)  # never outlives a stuck test run
        self.stopper.daemon = True

    def start(self) -> "Server":
        self.thread.start()
        self.stopper.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path, monkeypatch):
    s = Server().start()
    s.files["/arrival/dictionaries/en-fr.0-5000.txt"] = DICO
    s.files["/arrival/dictionaries/en-fr.5000-6500.txt"] = DICO[:200]
    s.files["/arrival/dictionaries/en-fr.txt"] = DICO * 2
    s.files["/fasttext/vectors-wiki/wiki.xx.vec"] = VEC
    s.files["/fasttext/vectors-crawl/cc.xx.300.vec.gz"] = VEC_GZ
    monkeypatch.setenv("ALIGN_DOWNLOAD_BASE", s.url)
    monkeypatch.setenv("ALIGN_DATA", str(tmp_path / "data"))
    yield s
    s.stopper.cancel()
    s.stop()


def test_complete_download_is_found_by_name(server, tmp_path):
    with pytest.raises(NotDownloaded, match="align download dictionary en fr --split train"):
        find_dictionary("en", "fr", "train")
    r = download_dictionary("en", "fr", "train")
    path = tmp_path / "data" / "muse" / "en-fr.0-5000.txt"
    assert r.path == path and path.read_bytes() == DICO and r.bytes == len(DICO)
    assert r.sha256 == hashlib.sha256(DICO).hexdigest() and r.resumed_from == 0
    assert find_dictionary("en", "fr", "train") == path
    assert len(Dictionary.load(path)) == 3000
    assert sorted(p.name for p in path.parent.iterdir()) == ["en-fr.0-5000.txt"]
    again = download_dictionary("en", "fr", "train")
    assert again.already_present and len(server.log) == 1


def test_resume_from_part_file(server, tmp_path):
    dest = tmp_path / "data" / "muse" / "en-fr.0-5000.txt"
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(DICO[:12345])
    r = download_dictionary("en", "fr", "train")
    assert server.log == [("/arrival/dictionaries/en-fr.0-5000.txt", "bytes=12345-")]
    assert r.resumed_from == 12345 and r.downloaded == len(DICO) - 12345
    assert dest.read_bytes() == DICO and not dest.with_name(dest.name + ".part").exists()


def test_truncated_transfer_never_looks_complete_and_resumes(server, tmp_path):
    path = "/arrival/dictionaries/en-fr.0-5000.txt"
    server.mode[path] = "truncate"
    dest = tmp_path / "data" / "muse" / "en-fr.0-5000.txt"
    with pytest.raises(DownloadError, match="incomplete.*run the same command again to resume"):
        download_dictionary("en", "fr", "train")
    assert not dest.exists()
    part = dest.with_name(dest.name + ".part")
    assert part.read_bytes() == DICO[: len(DICO) // 2]
    server.mode.pop(path)
    r = download_dictionary("en", "fr", "train")
    assert r.resumed_from == len(DICO) // 2 and dest.read_bytes() == DICO and not part.exists()


def test_server_without_range_support_restarts(server, tmp_path):
    server.mode["/arrival/dictionaries/en-fr.0-5000.txt"] = "norange"
    dest = tmp_path / "data" / "muse" / "en-fr.0-5000.txt"
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(b"garbage that is not the start")
    r = download_dictionary("en", "fr", "train")
    assert r.resumed_from == 0 and dest.read_bytes() == DICO


def test_complete_part_file_gets_416_and_is_kept(server, tmp_path):
    dest = tmp_path / "data" / "muse" / "en-fr.0-5000.txt"
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(DICO)
    r = download_dictionary("en", "fr", "train")
    assert dest.read_bytes() == DICO and r.downloaded == 0


def test_corrupted_download_fails_the_checksum_and_is_removed(server, tmp_path):
    path = "/arrival/dictionaries/en-fr.0-5000.txt"
    server.mode[path] = "corrupt"
    good = hashlib.sha256(DICO).hexdigest()
    dest = tmp_path / "dl" / "en-fr.0-5000.txt"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch(server.url + path.lstrip("/"), dest, sha256=good)
    assert list(dest.parent.iterdir()) == []
    server.mode.pop(path)
    assert fetch(server.url + path.lstrip("/"), dest, sha256=good).sha256 == good


def test_corrupted_gzip_leaves_no_file(server, tmp_path):
    server.mode["/fasttext/vectors-crawl/cc.xx.300.vec.gz"] = "corrupt"
    with pytest.raises(DownloadError, match="corrupt or truncated gzip"):
        download_vectors("xx", "cc")
    folder = tmp_path / "data" / "fasttext"
    assert list(folder.iterdir()) == []
    with pytest.raises(NotDownloaded, match="align download vectors xx --kind cc"):
        find_vectors("xx", "cc")


def test_gzip_vectors_are_decompressed_and_found(server, tmp_path):
    r = download_vectors("xx", "cc")
    path = tmp_path / "data" / "fasttext" / "cc.xx.300.vec"
    assert r.path == path and path.read_bytes() == VEC
    assert sorted(p.name for p in path.parent.iterdir()) == ["cc.xx.300.vec"]
    assert find_vectors("xx") == path
    emb = Embeddings.load(find_vectors("xx"))
    assert emb.words == ["w0", "w1", "w2"] and np.allclose(emb["w0"], [0.1, 1.1, 2.1, 3.1])
    kept = download_vectors("xx", "cc", decompress=False, dest_dir=tmp_path / "gz")
    assert kept.path.name == "cc.xx.300.vec.gz" and kept.path.read_bytes() == VEC_GZ


def test_not_found(server):
    with pytest.raises(DownloadError, match=r"not found \(HTTP 404\): http://127\.0\.0\.1:\d+/arrival/dictionaries/"
                                            r"en-zz\.txt"):
        download_dictionary("en", "zz", "full")


def test_offline_gives_a_clear_error(monkeypatch, tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    monkeypatch.setenv("ALIGN_DOWNLOAD_BASE", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ALIGN_DATA", str(tmp_path))
    with pytest.raises(DownloadError, match=f"cannot reach http://127.0.0.1:{port}/fasttext/.*offline"):
        download_vectors("xx")


def test_bad_language_code_is_refused(server):
    with pytest.raises(InputError, match="not a language code"):
        download_vectors("../etc")


def test_html_page_instead_of_a_dictionary_is_refused(server, tmp_path):
    server.files["/arrival/dictionaries/en-de.txt"] = b"<!DOCTYPE html><html>captive portal</html>\n"
    with pytest.raises(DownloadError, match="not a MUSE dictionary"):
        download_dictionary("en", "de")
    assert not (tmp_path / "data" / "muse" / "en-de.txt").exists()


def test_cli_download(server, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["download", "dictionary", "en", "fr", "--json", "-q"])
    assert e.value.code == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [f["path"].rsplit("/", 1)[1] for f in files] == ["en-fr.txt", "en-fr.0-5000.txt", "en-fr.5000-6500.txt"]
    with pytest.raises(SystemExit) as e:
        main(["download", "vectors", "xx", "--kind", "cc"])
    assert e.value.code == 0
    out = capsys.readouterr()
    assert "cc.xx.300.vec" in out.out
    with pytest.raises(SystemExit) as e:
        main(["download", "vectors", "zz", "-q"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: not found (HTTP 404): ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as e:
        main(["download", "dictionary", "fr", "fr"])
    assert e.value.code == 2 and "a dictionary needs two languages" in capsys.readouterr().err
