"""URL and s3:// inputs, served by tiny local servers on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest

from callplay.audio import inputs as sources
from tests.audio import gen
from tests.audio.conftest import Run

Cp = Callable[..., Run]
Routes = dict[str, tuple[int, str | None, bytes]]


def _serve(routes: Routes, handler_factory: Callable[[Routes], type[BaseHTTPRequestHandler]]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_factory(routes))
    # A short poll: shutdown() waits for serve_forever to notice, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Replies(BaseHTTPRequestHandler):
    """What both fake servers share: one reply with an optional Content-Type, and no request log."""

    def _reply(self, status: int, ctype: str | None, body: bytes) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _web(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(_Replies):
        def do_GET(self) -> None:
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/ok.wav")
                self.end_headers()
                return
            self._reply(*routes.get(self.path, (404, "text/html", b"<html>not found</html>")))

    return Handler


@pytest.fixture
def wav_bytes(tmp_path: Path) -> bytes:
    return gen.write(tmp_path / "src.wav", 16000).read_bytes()


@pytest.fixture
def web(wav_bytes: bytes) -> Iterator[str]:
    routes: Routes = {
        "/ok.wav": (200, "audio/wav", wav_bytes),
        "/octet.wav": (200, "application/octet-stream", wav_bytes),
        "/mislabelled.wav": (200, "audio/mpeg", wav_bytes),
        "/page.wav": (200, "text/html; charset=utf-8", b"<!DOCTYPE html><html>Sign in</html>"),
        "/error.wav": (500, "text/plain", b"oops"),
    }
    yield from _serve(routes, _web)


def _files(res: Run) -> dict[str, dict[str, Any]]:
    return {f["source"].rsplit("/", 1)[-1]: f for f in res.json()["data"]["files"]}


def test_urls_are_fetched_and_checked(cp: Cp, web: str) -> None:
    names = ["ok.wav", "octet.wav", "mislabelled.wav", "page.wav", "missing.wav", "error.wav", "moved"]
    res = cp("validate-audio", *[f"{web}/{n}" for n in names], "--target", "acs", "-o", "json")
    files = _files(res)
    rules = {n: {(x["rule"], x["severity"]) for x in f["findings"]} for n, f in files.items()}
    assert rules["ok.wav"] == set() and files["ok.wav"]["stats"]["frames"] == 16000
    assert rules["moved"] == set()  # redirects are followed, like a provider's fetcher
    assert rules["octet.wav"] == {("content-type", "warning")}
    assert rules["mislabelled.wav"] == {("content-type", "warning")}
    assert rules["page.wav"] == {("content-type", "error"), ("unreadable", "error")}
    assert rules["missing.wav"] == {("fetch", "error")} and "404" in files["missing.wav"]["findings"][0]["message"]
    assert rules["error.wav"] == {("fetch", "error")}
    assert res.exit_code == 7


def test_url_size_limit_and_github_output(cp: Cp, web: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[audio]\nmax_fetch_mb = 0.01\n")
    monkeypatch.setenv("CALLPLAY_CONFIG", str(config))
    res = cp("validate-audio", f"{web}/ok.wav", "--target", "acs", "--format", "github")
    line = res.stdout.splitlines()[0]
    assert line.startswith("::error title=fetch::") and "fetch limit" in line and "file=" not in line


def test_unreachable_url_is_a_finding(cp: Cp) -> None:
    res = cp("validate-audio", "http://127.0.0.1:9/x.wav", "--target", "acs", "-o", "json")
    assert res.exit_code == 7 and _files(res)["x.wav"]["findings"][0]["rule"] == "fetch"


# ------------------------------------------------------------------------------------------------- S3


def _s3(objects: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(_Replies):
        def _bucket_key(self) -> tuple[str, str, dict[str, list[str]]]:
            url = urlsplit(self.path)
            host = self.headers.get("Host", "").split(":")[0]
            parts = url.path.lstrip("/").split("/", 1)
            if host.endswith(".127.0.0.1") or not host.replace(".", "").isdigit():  # virtual-hosted style
                return host.split(".")[0], url.path.lstrip("/"), parse_qs(url.query)
            return parts[0], parts[1] if len(parts) > 1 else "", parse_qs(url.query)

        def do_GET(self) -> None:
            bucket, key, query = self._bucket_key()
            if "list-type" in query:
                return self._list(bucket, query.get("prefix", [""])[0])
            found = objects.get(f"{bucket}/{key}")
            if found is None:
                body = b"<Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>"
                return self._reply(404, "application/xml", body)
            return self._reply(found[0], found[1], found[2])

        def _list(self, bucket: str, prefix: str) -> None:
            keys = [k.split("/", 1)[1] for k in objects if k.startswith(f"{bucket}/{prefix}")]
            items = "".join(
                f"<Contents><Key>{escape(k)}</Key><Size>{len(objects[bucket + '/' + k][2])}</Size></Contents>"
                for k in keys
            )
            body = (
                f'<?xml version="1.0"?><ListBucketResult><Name>{bucket}</Name><Prefix>{prefix}</Prefix>'
                f"<KeyCount>{len(keys)}</KeyCount><IsTruncated>false</IsTruncated>{items}</ListBucketResult>"
            )
            self._reply(200, "application/xml", body.encode())

    return Handler


@pytest.fixture
def s3(wav_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    objects: Routes = {
        "prompts/ivr/welcome.wav": (200, "audio/wav", wav_bytes),
        "prompts/ivr/hold.wav": (200, "binary/octet-stream", wav_bytes),
        "prompts/ivr/readme.txt": (200, "text/plain", b"hello"),
    }
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    for url in _serve(objects, _s3):
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        sources.reset_s3_client()
        yield url
    sources.reset_s3_client()


def test_s3_objects_and_the_chime_content_type(cp: Cp, s3: str) -> None:
    res = cp(
        "validate-audio",
        "s3://prompts/ivr/welcome.wav",
        "s3://prompts/ivr/hold.wav",
        "s3://prompts/ivr/gone.wav",
        "--target",
        "chime,acs",
        "-o",
        "json",
    )
    files = _files(res)
    assert {(x["rule"], x["target"]) for x in files["welcome.wav"]["findings"]} == {("sample-rate", "chime")}
    hold = {(x["rule"], x["severity"], x["target"]) for x in files["hold.wav"]["findings"]}
    assert ("content-type", "error", "chime") in hold and ("content-type", "error", "acs") not in hold
    gone = files["gone.wav"]["findings"][0]
    assert gone["rule"] == "fetch" and "404" in gone["message"]


def test_s3_prefix_is_listed_like_a_directory(cp: Cp, s3: str) -> None:
    res = cp("validate-audio", "s3://prompts/ivr/", "--target", "acs", "-o", "json")
    assert sorted(_files(res)) == ["hold.wav", "welcome.wav"]  # readme.txt filtered by extension
