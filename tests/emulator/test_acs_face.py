"""The emulator's ACS face, driven by the real azure-communication-callautomation SDK over HTTP.

Callbacks go to a small HTTP receiver started here; each test posts to its own path on it.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pytest
import soundfile as sf
from azure.communication.callautomation import (
    CallAutomationClient,
    CallConnectionClient,
    CommunicationUserIdentifier,
    FileSource,
    PhoneNumberIdentifier,
    SsmlSource,
    TextSource,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from callplay.emulator.acs import (
    API_VERSION,
    AcsFace,
    PlayFailure,
    check_schema,
    content_hash,
    hmac_b64,
    identifier_model,
    identifier_raw_id,
    probe_audio,
    sign,
    signed_headers,
    ssml_seconds,
    text_seconds,
    verify,
)
from callplay.emulator.app import EmulatorServer
from callplay.emulator.state import World
from tests.conftest import run_cli, web

EMPTY_HASH = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
KAT_KEY = "pw=="
KAT_HOST = "contoso.communicationservices.azure.com"
KAT_DATE = "Wed, 13 Apr 2022 18:09:12 GMT"
EVENT_WAIT_S = 15.0  # an upper bound for slow machines, never a measured duration


# ------------------------------------------------------------------------------------ callback receiver


class Receiver:
    """Collects callback POSTs: (path, headers, parsed JSON body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], Any]] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.cond:
                    receiver.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)))
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll: shutdown() waits for serve_forever to notice, 0.5 s by default.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self) -> str:
        return f"{self.base}/cb/{uuid.uuid4().hex}"

    def events(self, url: str) -> list[dict[str, Any]]:
        path = url.removeprefix(self.base)
        with self.cond:
            return [event for p, _, body in self.posts if p == path for event in body]

    def headers(self, url: str) -> list[dict[str, str]]:
        path = url.removeprefix(self.base)
        with self.cond:
            return [h for p, h, _ in self.posts if p == path]

    def wait(self, url: str, done: Callable[[list[str]], bool]) -> list[dict[str, Any]]:
        """Events posted to `url` once `done(short type names)` holds (or the wait bound passes)."""
        deadline = time.monotonic() + EVENT_WAIT_S
        with self.cond:
            while not done(types(self.events(url))) and time.monotonic() < deadline:
                self.cond.wait(0.2)
        return self.events(url)

    def wait_types(self, url: str, count: int) -> list[dict[str, Any]]:
        return self.wait(url, lambda names: len(names) >= count)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("Microsoft.Communication.") for e in events]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture
def access_key(emulator: EmulatorServer) -> str:
    return str(emulator.world.credentials["acs"]["access_key"])


@pytest.fixture
def client(emulator: EmulatorServer, access_key: str) -> CallAutomationClient:
    return CallAutomationClient(emulator.http_url, AzureKeyCredential(access_key), retry_total=0)


@pytest.fixture
def conn(client: CallAutomationClient, call_id: str) -> CallConnectionClient:
    return client.get_call_connection(call_id)


def media(emulator: EmulatorServer, name: str) -> str:
    return f"{emulator.http_url}/_emulator/media/{name}"


def sim_call(emulator: EmulatorServer, call_id: str) -> dict[str, Any]:
    resp = web.get(f"{emulator.http_url}/_emulator/calls/{call_id}")
    resp.raise_for_status()
    return dict(resp.json())


def wav_bytes(rate: int, channels: int, seconds: float) -> bytes:
    data = np.zeros((int(rate * seconds), channels)) if channels > 1 else np.zeros(int(rate * seconds))
    buf = io.BytesIO()
    sf.write(buf, data, rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def play_url(emulator: EmulatorServer, call_id: str, action: str = "play") -> str:
    return f"{emulator.http_url}/calling/callConnections/{quote(call_id, safe='')}:{action}?api-version={API_VERSION}"


def signed_post(emulator: EmulatorServer, key: str, url: str, body: bytes) -> httpx.Response:
    headers = {**signed_headers(key, "POST", url, body), "content-type": "application/json"}
    return web.post(url, content=body, headers=headers)


# ---------------------------------------------------------------------------------------- HMAC (pure)


@pytest.mark.parametrize(
    ("path_and_query", "signature"),
    [
        ("/", "88MDmJhUR3m5QhFxb8ztShsSwlGrg7g/6XPnWf7QEO4="),
        ("/testPath", "RoCrHjw7fb9fpHSbqvRUY2xa8RBS0YvI1cxI1x8AS38="),
        ("/testPath?testQuery=yes", "il99+rd6V5O136roX/zVePCNle78HmvC4B7tu9zRH3I="),
    ],
)
def test_sign_matches_the_sdk_known_answers(path_and_query: str, signature: str) -> None:
    assert content_hash(b"") == EMPTY_HASH
    assert sign(KAT_KEY, "GET", path_and_query, KAT_DATE, KAT_HOST, EMPTY_HASH) == signature


def test_hmac_of_banana_matches_the_sdk_known_answer() -> None:
    assert hmac_b64(KAT_KEY, "banana") == "88EC05aAS9iXnaimtNO78JLjiPtfWryQB/5QYEzEsu8="


def _kat_headers(signature: str, body_hash: str = EMPTY_HASH) -> dict[str, str]:
    return {
        "host": KAT_HOST,
        "x-ms-date": KAT_DATE,
        "x-ms-content-sha256": body_hash,
        "authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}",
    }


def test_verify_accepts_the_known_answer_and_rejects_changes() -> None:
    good = _kat_headers("RoCrHjw7fb9fpHSbqvRUY2xa8RBS0YvI1cxI1x8AS38=")
    assert verify(KAT_KEY, "GET", "/testPath", good, b"")
    assert not verify(KAT_KEY, "GET", "/testPath?x=1", good, b"")  # the query is signed
    assert not verify(KAT_KEY, "POST", "/testPath", good, b"")  # so is the verb
    assert not verify(KAT_KEY, "GET", "/testPath", {**good, "host": "contoso:8443"}, b"")  # and the host
    assert not verify(KAT_KEY, "GET", "/testPath", good, b"{}")  # the body must match its hash
    assert not verify("cHc9PQ==", "GET", "/testPath", good, b"")  # another key
    assert not verify(KAT_KEY, "GET", "/testPath", {**good, "authorization": "Bearer x"}, b"")
    assert not verify("not base64!", "GET", "/testPath", good, b"")


def test_verify_requires_the_three_signed_headers() -> None:
    only_date = hmac_b64(KAT_KEY, f"GET\n/\n{KAT_DATE}")
    headers = {**_kat_headers(only_date), "authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date&Signature={only_date}"}
    assert not verify(KAT_KEY, "GET", "/", headers, b"")


def test_signed_headers_round_trip_through_verify() -> None:
    url = "http://127.0.0.1:8080/calling/callConnections/a%20b%2Fc:play?api-version=2026-03-12"
    body = b'{"playSources": []}'
    headers = {k.lower(): v for k, v in signed_headers(KAT_KEY, "POST", url, body).items()}
    headers["host"] = "127.0.0.1:8080"
    assert verify(KAT_KEY, "POST", "/calling/callConnections/a%20b%2Fc:play?api-version=2026-03-12", headers, body)
    assert not verify(KAT_KEY, "POST", "/calling/callConnections/a b/c:play?api-version=2026-03-12", headers, body)


# --------------------------------------------------------------------------------- pure model helpers


def test_probe_audio_accepts_16k_mono_pcm16_only() -> None:
    assert probe_audio(wav_bytes(16000, 1, 1.5)) == pytest.approx(1.5)
    for bad in (wav_bytes(8000, 1, 1.0), wav_bytes(16000, 2, 1.0), b"<html>nope</html>", b""):
        with pytest.raises(PlayFailure) as info:
            probe_audio(bad)
        assert info.value.sub_code == 8535


def test_probe_audio_wants_an_id3_tag_on_mp3() -> None:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000), 16000, format="MP3", subtype="MPEG_LAYER_III")
    untagged = buf.getvalue()
    if untagged[:3] == b"ID3":
        untagged = untagged[10 + _syncsafe(untagged[6:10]) :]
    with pytest.raises(PlayFailure) as info:
        probe_audio(untagged)
    assert info.value.sub_code == 8535
    title = b"TIT2" + (5).to_bytes(4, "big") + b"\x00\x00\x03hold"  # one text frame: a minimal real tag
    tagged = b"ID3\x04\x00\x00" + bytes([0, 0, 0, len(title)]) + title + untagged
    assert probe_audio(tagged) == pytest.approx(1.0, abs=0.1)


def _syncsafe(b: bytes) -> int:
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def test_text_and_ssml_durations() -> None:
    assert text_seconds("x" * 30) == pytest.approx(2.0)
    assert text_seconds("hi") == pytest.approx(0.5)
    speak = '<speak version="1.0" xml:lang="en-US"><voice name="en-US-JennyNeural">{}</voice></speak>'
    assert ssml_seconds(speak.format("x" * 30)) == pytest.approx(2.0)
    assert ssml_seconds(speak.format('a<break time="2s"/>b<break time="500ms"/>')) == pytest.approx(3.0)
    assert ssml_seconds(speak.format('<break strength="strong"/>')) == pytest.approx(1.0)
    for text, code in (("   ", 8582), (speak.format(""), 8582), ("<speak><unclosed></speak>", 8565)):
        with pytest.raises(PlayFailure) as info:
            ssml_seconds(text) if text.startswith("<") else text_seconds(text)
        assert info.value.sub_code == code


def test_identifiers_round_trip() -> None:
    for raw in ("8:acs:r_u1", "4:+14255550123", "8:orgid:u-1", "28:orgid:app-1", "8:gcch:u-2", "x:other"):
        model = identifier_model(raw)
        assert model["rawId"] == raw
        assert identifier_raw_id(model) == raw
    assert identifier_model("4:+14255550123")["phoneNumber"] == {"value": "+14255550123"}
    assert identifier_raw_id({"phoneNumber": {"value": "+1"}}) == "4:+1"


@pytest.mark.parametrize(
    "model",
    [
        {"rawId": "8:acs:a", "communicationUser": {"id": "8:acs:b"}},
        {"rawId": "4:+1", "phoneNumber": {"value": "+2"}},
        {"kind": "phoneNumber", "rawId": "8:acs:a", "communicationUser": {"id": "8:acs:a"}},
        {"rawId": "4:+1", "phoneNumber": {"value": "+1"}, "communicationUser": {"id": "4:+1"}},
        {},
    ],
)
def test_identifier_parts_must_agree(model: dict[str, Any]) -> None:
    from callplay.emulator.acs import _AcsError

    with pytest.raises(_AcsError) as info:
        identifier_raw_id(model)
    assert (info.value.status, info.value.code) == (400, "8523")


def test_schema_rejects_what_the_2026_definitions_forbid() -> None:
    from callplay.emulator.acs import _AcsError

    ok = {
        "playSources": [{"kind": "file", "file": {"uri": "https://x/a.wav"}}],
        "playTo": [],
        "interruptCallMediaOperation": False,
        "playOptions": {"loop": False},
    }
    check_schema("PlayRequest", ok)
    old_style = {**ok, "playOptions": {"loop": False, "interruptCallMediaOperation": True}}
    for bad, where in (
        (old_style, "playOptions"),
        ({**ok, "playSources": [{"kind": "video"}]}, "playSources[0].kind"),
        ({"playTo": []}, "playSources"),
    ):
        with pytest.raises(_AcsError) as info:
            check_schema("PlayRequest", bad)
        assert info.value.code == "8523"
        assert where in info.value.message


# ------------------------------------------------------------------------------ face plumbing (no HTTP)


def test_bind_keeps_a_given_key_and_profile_has_no_extras() -> None:
    world = World()
    world.credentials["acs"] = {"access_key": "ZGVtby1rZXk="}
    face = AcsFace()
    face.bind(world)
    assert face.access_key == "ZGVtby1rZXk="

    class FakeServer:
        http_url = "http://127.0.0.1:1234"

    profile = face.profile(FakeServer())  # type: ignore[arg-type]
    assert profile == {"provider": "acs", "endpoint": "http://127.0.0.1:1234", "access_key": "ZGVtby1rZXk="}


def test_bind_generates_a_32_byte_base64_key() -> None:
    import base64

    face = AcsFace()
    face.bind(World())
    assert len(base64.b64decode(face.access_key, validate=True)) == 32


def test_error_has_the_acs_shape() -> None:
    resp = AcsFace().error(429, "Too Many Requests")
    assert resp.status_code == 429
    assert json.loads(bytes(resp.body)) == {"error": {"code": "429", "message": "Too Many Requests"}}
    assert json.loads(bytes(AcsFace().error(404, "gone").body))["error"]["code"] == "8522"


# -------------------------------------------------------------------------------------- play over HTTP


def test_play_file_posts_started_then_completed(
    emulator: EmulatorServer, conn: CallConnectionClient, call_id: str, receiver: Receiver
) -> None:
    url = receiver.url()
    conn.play_media(
        FileSource(media(emulator, "hold-16k.wav")), operation_context="cp-file-1", operation_callback_url=url
    )
    events = receiver.wait_types(url, 2)
    assert types(events) == ["PlayStarted", "PlayCompleted"]
    done = events[1]
    assert done["source"] == done["subject"] == f"calling/callConnections/{call_id}"
    assert done["specversion"] == "1.0"
    assert done["data"]["version"] == API_VERSION
    assert done["data"]["callConnectionId"] == call_id
    assert done["data"]["operationContext"] == "cp-file-1"
    assert done["data"]["publicEventType"] == "Microsoft.Communication.PlayCompleted"
    assert done["data"]["resultInformation"] == {"code": 200, "subCode": 0, "message": "Action completed successfully."}
    assert all(h["authorization"].startswith("Bearer ey") for h in receiver.headers(url))
    playback = sim_call(emulator, call_id)["playbacks"][0]
    assert playback["handle"] == "cp-file-1"
    assert playback["round_s"] == pytest.approx(3.0)


def test_events_omit_operation_context_when_the_request_had_none(
    conn: CallConnectionClient, receiver: Receiver
) -> None:
    url = receiver.url()
    conn.play_media(TextSource(text="Hello from the emulator"), operation_callback_url=url)
    events = receiver.wait_types(url, 2)
    assert types(events) == ["PlayStarted", "PlayCompleted"]
    assert all("operationContext" not in e["data"] for e in events)


def test_stereo_44k_wav_fails_with_8535(
    emulator: EmulatorServer, conn: CallConnectionClient, receiver: Receiver
) -> None:
    url = receiver.url()
    sources: list[FileSource | TextSource | SsmlSource] = [
        TextSource(text="first"),
        FileSource(media(emulator, "stereo-44k.wav")),
    ]
    conn.play_media(sources, operation_context="cp-stereo", operation_callback_url=url)
    events = receiver.wait_types(url, 1)
    assert types(events) == ["PlayFailed"]
    data = events[0]["data"]
    assert data["resultInformation"] == {
        "code": 400,
        "subCode": 8535,
        "message": "Action failed, file format is invalid.",
    }
    assert data["failedPlaySourceIndex"] == 1


def test_unreachable_file_fails_with_8536(
    emulator: EmulatorServer, conn: CallConnectionClient, receiver: Receiver
) -> None:
    url = receiver.url()
    conn.play_media(
        FileSource(media(emulator, f"missing-{uuid.uuid4().hex}.wav")),
        operation_context="cp-404",
        operation_callback_url=url,
    )
    events = receiver.wait_types(url, 1)
    assert types(events) == ["PlayFailed"]
    assert events[0]["data"]["resultInformation"]["subCode"] == 8536
    assert events[0]["data"]["resultInformation"]["message"] == "Action failed, file could not be downloaded."


def test_empty_text_fails_with_8582(conn: CallConnectionClient, receiver: Receiver) -> None:
    url = receiver.url()
    conn.play_media(TextSource(text="   "), operation_context="cp-empty", operation_callback_url=url)
    events = receiver.wait_types(url, 1)
    assert types(events) == ["PlayFailed"]
    assert events[0]["data"]["resultInformation"]["subCode"] == 8582


def test_ssml_plays_for_its_text_and_breaks(
    emulator: EmulatorServer, conn: CallConnectionClient, call_id: str, receiver: Receiver
) -> None:
    url = receiver.url()
    ssml = '<speak version="1.0" xml:lang="en-US">Hi<break time="1500ms"/></speak>'
    conn.play_media(SsmlSource(ssml_text=ssml), operation_context="cp-ssml", operation_callback_url=url)
    assert types(receiver.wait_types(url, 2)) == ["PlayStarted", "PlayCompleted"]
    assert sim_call(emulator, call_id)["playbacks"][0]["round_s"] == pytest.approx(2.0)


def test_loop_plays_until_cancel_all_media_operations(
    emulator: EmulatorServer, conn: CallConnectionClient, call_id: str, receiver: Receiver
) -> None:
    url = receiver.url()
    conn.play_media(
        FileSource(media(emulator, "hold-16k.wav")), loop=True, operation_context="cp-loop", operation_callback_url=url
    )
    assert types(receiver.wait_types(url, 1)) == ["PlayStarted"]
    assert sim_call(emulator, call_id)["playbacks"][0]["state"] == "playing"
    conn.cancel_all_media_operations()
    events = receiver.wait_types(url, 2)
    assert types(events) == ["PlayStarted", "PlayCanceled"]
    assert events[1]["data"]["resultInformation"] == {
        "code": 400,
        "subCode": 8508,
        "message": "Action falied, the operation was cancelled.",
    }
    assert events[1]["data"]["operationContext"] == "cp-loop"
    assert sim_call(emulator, call_id)["playbacks"][0]["state"] == "canceled"


def test_a_second_play_queues_behind_the_first(
    emulator: EmulatorServer, conn: CallConnectionClient, receiver: Receiver
) -> None:
    url = receiver.url()
    for ctx in ("cp-q1", "cp-q2"):
        conn.play_media(FileSource(media(emulator, "hold-16k.wav")), operation_context=ctx, operation_callback_url=url)
    events = receiver.wait_types(url, 4)
    order = [(t, e["data"]["operationContext"]) for t, e in zip(types(events), events, strict=True)]
    assert order == [
        ("PlayStarted", "cp-q1"),
        ("PlayCompleted", "cp-q1"),
        ("PlayStarted", "cp-q2"),
        ("PlayCompleted", "cp-q2"),
    ]


def test_interrupt_cancels_the_current_play(
    emulator: EmulatorServer, conn: CallConnectionClient, receiver: Receiver
) -> None:
    url = receiver.url()
    conn.play_media(
        FileSource(media(emulator, "hold-16k.wav")), loop=True, operation_context="cp-old", operation_callback_url=url
    )
    receiver.wait_types(url, 1)
    conn.play_media(
        TextSource(text="urgent"),
        operation_context="cp-new",
        operation_callback_url=url,
        interrupt_call_media_operation=True,
    )
    events = receiver.wait_types(url, 4)
    order = [(t, e["data"]["operationContext"]) for t, e in zip(types(events), events, strict=True)]
    assert order == [
        ("PlayStarted", "cp-old"),
        ("PlayCanceled", "cp-old"),
        ("PlayStarted", "cp-new"),
        ("PlayCompleted", "cp-new"),
    ]


def test_cache_id_reuses_the_first_download(
    emulator: EmulatorServer, conn: CallConnectionClient, receiver: Receiver
) -> None:
    name = f"acs-cache-{uuid.uuid4().hex}.wav"
    put = f"{emulator.http_url}/_emulator/media/{name}"
    web.put(put, content=wav_bytes(16000, 1, 0.5), headers={"content-type": "audio/wav"}).raise_for_status()
    cache_id = uuid.uuid4().hex
    first, cached, uncached = receiver.url(), receiver.url(), receiver.url()
    conn.play_media(FileSource(put, play_source_cache_id=cache_id), operation_callback_url=first)
    assert types(receiver.wait_types(first, 2)) == ["PlayStarted", "PlayCompleted"]
    # Replace the file with one ACS refuses: the cached entry still plays, a fresh download fails.
    web.put(put, content=wav_bytes(44100, 2, 0.5), headers={"content-type": "audio/wav"}).raise_for_status()
    conn.play_media(FileSource(put, play_source_cache_id=cache_id), operation_callback_url=cached)
    assert types(receiver.wait_types(cached, 2)) == ["PlayStarted", "PlayCompleted"]
    conn.play_media(FileSource(put), operation_callback_url=uncached)
    assert types(receiver.wait_types(uncached, 1)) == ["PlayFailed"]


def test_call_callback_uri_is_used_without_an_operation_callback(
    emulator: EmulatorServer, client: CallAutomationClient, receiver: Receiver
) -> None:
    url = receiver.url()
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    resp = web.post(f"{emulator.http_url}/_emulator/calls", json={"id": call_id, "data": {"acs": {"callbackUri": url}}})
    resp.raise_for_status()
    conn = client.get_call_connection(call_id)
    conn.play_media(TextSource(text="no per-operation URL"), operation_context="cp-callcb")
    assert types(receiver.wait_types(url, 2)) == ["PlayStarted", "PlayCompleted"]
    assert conn.get_call_properties().callback_url == url


def test_percent_encoded_call_id_is_signed_and_found(
    emulator: EmulatorServer, client: CallAutomationClient, receiver: Receiver
) -> None:
    call_id = f"a b/c:{uuid.uuid4().hex[:8]}"
    web.post(f"{emulator.http_url}/_emulator/calls", json={"id": call_id}).raise_for_status()
    url = receiver.url()
    client.get_call_connection(call_id).play_media(TextSource(text="odd id"), operation_callback_url=url)
    events = receiver.wait_types(url, 2)
    assert types(events) == ["PlayStarted", "PlayCompleted"]
    assert events[0]["data"]["callConnectionId"] == call_id


def test_hangup_sends_call_disconnected_instead_of_a_play_event(
    emulator: EmulatorServer, conn: CallConnectionClient, call_id: str, receiver: Receiver
) -> None:
    url = receiver.url()
    conn.play_media(TextSource(text="x" * 600), operation_context="cp-hang", operation_callback_url=url)
    receiver.wait_types(url, 1)
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    assert types(receiver.wait_types(url, 2)) == ["PlayStarted", "CallDisconnected"]


# ------------------------------------------------------------------------------------ errors over HTTP


def test_wrong_key_is_401_7509(emulator: EmulatorServer, call_id: str) -> None:
    bad = CallAutomationClient(emulator.http_url, AzureKeyCredential("d3Jvbmcta2V5"), retry_total=0)
    with pytest.raises(ClientAuthenticationError) as info:
        bad.get_call_connection(call_id).get_call_properties()
    assert info.value.status_code == 401
    assert info.value.error is not None
    assert info.value.error.code == "7509"


def test_tampered_body_is_401(emulator: EmulatorServer, access_key: str, call_id: str) -> None:
    url = play_url(emulator, call_id)
    body = b'{"playSources": [{"kind": "text", "text": {"text": "hi"}}], "playTo": []}'
    headers = {**signed_headers(access_key, "POST", url, body), "content-type": "application/json"}
    resp = web.post(url, content=body.replace(b"hi", b"ho"), headers=headers)
    assert resp.status_code == 401
    assert resp.json() == {"error": {"code": "7509", "message": "HMAC-SHA256 validation failed"}}
    assert web.post(url, content=body, headers=headers).status_code == 202  # the untouched one passes


def test_unknown_call_is_404_8522(client: CallAutomationClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_call_connection(f"no-such-{uuid.uuid4().hex}").play_media(TextSource(text="hi"))
    assert info.value.status_code == 404
    assert info.value.error is not None
    assert (info.value.error.code, info.value.error.message) == ("8522", "Call not found.")


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"playSources": [{"kind": "file", "text": {"text": "x"}}]}', "has no 'file' object"),
        (b'{"playSources": [{"kind": "file", "file": {"uri": "a.wav"}}]}', "absolute http(s) URI"),
        (b'{"playSources": [], "playTo": []}', "must not be empty"),
        (b'{"playSources": [{"kind": "text", "text": {"text": "x"}}], "bogus": 1}', "bogus"),
        (b'{"playSources": [{"kind": "text", "text": {"text": "x"}}], "playOptions": {}}', "loop"),
    ],
)
def test_malformed_play_body_is_400_8523(
    emulator: EmulatorServer, access_key: str, call_id: str, body: bytes, what: str
) -> None:
    resp = signed_post(emulator, access_key, play_url(emulator, call_id), body)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "8523"
    assert error["message"].startswith("Invalid request: ")
    assert what in error["message"]


def test_play_to_a_stranger_is_400(conn: CallConnectionClient) -> None:
    with pytest.raises(HttpResponseError) as info:
        conn.play_media(TextSource(text="hi"), play_to=[CommunicationUserIdentifier("8:acs:stranger")])
    assert info.value.status_code == 400
    assert info.value.error is not None
    assert info.value.error.code == "8523"
    assert "8:acs:stranger" in str(info.value.error.message)


def test_play_to_a_participant_is_accepted(
    conn: CallConnectionClient, emulator: EmulatorServer, call_id: str, receiver: Receiver
) -> None:
    url = receiver.url()
    conn.play_media(
        TextSource(text="just you"), play_to=[PhoneNumberIdentifier("+14255550123")], operation_callback_url=url
    )
    assert types(receiver.wait_types(url, 2)) == ["PlayStarted", "PlayCompleted"]
    assert sim_call(emulator, call_id)["playbacks"][0]["targets"] == ["4:+14255550123"]


def test_disconnected_call_is_400_8528(emulator: EmulatorServer, conn: CallConnectionClient, call_id: str) -> None:
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    with pytest.raises(HttpResponseError) as info:
        conn.play_media(TextSource(text="too late"))
    assert info.value.status_code == 400
    assert info.value.error is not None
    assert info.value.error.code == "8528"
    assert conn.get_call_properties().call_connection_state == "disconnected"


@pytest.mark.parametrize(
    ("query", "code"), [("", "ApiVersionUnspecified"), ("?api-version=2019-01-01", "UnsupportedApiVersion")]
)
def test_api_version_missing_or_unknown_is_400(
    emulator: EmulatorServer, access_key: str, call_id: str, query: str, code: str
) -> None:
    url = f"{emulator.http_url}/calling/callConnections/{call_id}{query}"
    resp = web.get(url, headers=signed_headers(access_key, "GET", url))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code


def test_unemulated_action_is_405_8520(emulator: EmulatorServer, access_key: str, call_id: str) -> None:
    resp = signed_post(emulator, access_key, play_url(emulator, call_id, "recognize"), b"{}")
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] == "8520"


# --------------------------------------------------------------------------------- call and participants


def test_get_call_properties_parses_in_the_sdk(conn: CallConnectionClient, call_id: str) -> None:
    props = conn.get_call_properties()
    assert props.call_connection_id == call_id
    assert props.call_connection_state == "connected"
    assert props.server_call_id
    assert props.correlation_id
    assert [t.raw_id for t in props.targets or []] == ["8:acs:emulator-agent-0001", "4:+14255550123"]
    assert props.media_streaming_subscription is not None
    assert props.media_streaming_subscription.state == "disabled"


def test_list_participants_parses_in_the_sdk(conn: CallConnectionClient) -> None:
    participants = list(conn.list_participants())
    identifiers = [p.identifier for p in participants]
    assert [i.raw_id if i else None for i in identifiers] == ["8:acs:emulator-agent-0001", "4:+14255550123"]
    assert isinstance(participants[0].identifier, CommunicationUserIdentifier)
    assert isinstance(participants[1].identifier, PhoneNumberIdentifier)
    assert participants[1].identifier.properties["value"] == "+14255550123"
    assert [p.is_muted for p in participants] == [False, False]


def test_media_streaming_start_and_stop(conn: CallConnectionClient, receiver: Receiver) -> None:
    url = receiver.url()
    conn.start_media_streaming(operation_callback_url=url, operation_context="ms-1")
    assert streaming_state(conn) == "active"
    conn.stop_media_streaming(operation_callback_url=url, operation_context="ms-2")
    assert streaming_state(conn) == "inactive"
    events = receiver.wait_types(url, 2)
    assert types(events) == ["MediaStreamingStarted", "MediaStreamingStopped"]
    assert events[0]["data"]["mediaStreamingUpdate"] == {
        "contentType": "Audio",
        "mediaStreamingStatus": "mediaStreamingStarted",
        "mediaStreamingStatusDetails": "subscriptionStarted",
    }
    assert [e["data"]["operationContext"] for e in events] == ["ms-1", "ms-2"]


def streaming_state(conn: CallConnectionClient) -> object:
    subscription = conn.get_call_properties().media_streaming_subscription
    return None if subscription is None else subscription.state


def test_injected_rate_limit_answers_in_acs_shape(emulator: EmulatorServer, conn: CallConnectionClient) -> None:
    web.post(f"{emulator.http_url}/_emulator/faults", json={"rate_limit": 1, "retry_after": 7}).raise_for_status()
    with pytest.raises(HttpResponseError) as info:
        conn.get_call_properties()
    assert info.value.status_code == 429
    assert info.value.response is not None
    assert info.value.response.headers["Retry-After"] == "7"  # type: ignore[attr-defined]
    assert info.value.error is not None
    assert (info.value.error.code, info.value.error.message) == ("429", "Too Many Requests")
    assert conn.get_call_properties().call_connection_state == "connected"  # the fault was used up


# ---------------------------------------------------------------------------- the CLI against this face

CLI_PROFILE = ("-p", "emulator-acs", "-o", "json")


def test_cli_play_of_a_missing_file_reports_8536(emulator: EmulatorServer, config_file: Path, call_id: str) -> None:
    missing = media(emulator, f"missing-{uuid.uuid4().hex}.wav")
    result = run_cli("play", call_id, missing, "--wait", *CLI_PROFILE)
    assert result.exit_code == 5, result.stderr
    failed = result.json()["data"]["events"][-1]
    assert (failed["type"], failed["detail"]["subCode"]) == ("PlayFailed", 8536)
    assert "Traceback" not in result.stderr


def test_cli_play_to_a_stranger_is_rejected(config_file: Path, call_id: str) -> None:
    result = run_cli("play", call_id, "--tts", "hi", "--to", "8:acs:stranger", *CLI_PROFILE)
    assert result.exit_code == 5, result.stderr
    assert "8:acs:stranger" in result.json()["error"]["message"]
    assert "Traceback" not in result.stderr


def test_cli_stream_status_shows_the_streaming_state(
    config_file: Path, conn: CallConnectionClient, call_id: str
) -> None:
    conn.start_media_streaming()
    result = run_cli("stream-status", call_id, *CLI_PROFILE)
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["media_streaming"]["state"] == "active"
