"""events listen and events list: callbacks recorded against control IDs, forged ones refused."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from callplay.emulator.app import EmulatorServer
from callplay.events import EventRejected
from callplay.events.acs import parse
from tests.conftest import answers, free_port, run_cli, spawn_cli, wait_until


def _cloud_event(kind: str, context: str, call: str = "c1") -> dict[str, object]:
    return {
        "id": "1", "source": f"calling/callConnections/{call}", "type": f"Microsoft.Communication.{kind}",
        "specversion": "1.0", "time": "2026-11-22T00:00:00+00:00",
        "data": {"callConnectionId": call, "operationContext": context,
                 "resultInformation": {"code": 200, "subCode": 0, "message": "ok"}},
    }  # fmt: skip


def test_acs_parser_maps_types_to_states() -> None:
    body = json.dumps([_cloud_event("PlayStarted", "cp-1"), _cloud_event("PlayCanceled", "cp-1")]).encode()
    events = parse(body, {}, url="http://x/events/acs", secret=None)
    assert [(e.type, e.state, e.control_id) for e in events] == [
        ("PlayStarted", "playing", "cp-1"),
        ("PlayCanceled", "canceled", "cp-1"),
    ]


def test_acs_parser_rejects_a_missing_token() -> None:
    body = json.dumps([_cloud_event("PlayStarted", "cp-1")]).encode()
    try:
        parse(body, {}, url="http://x/events/acs?token=nope", secret="right")
    except EventRejected as exc:
        assert exc.status == 401
    else:
        raise AssertionError("forged callback accepted")
    assert parse(body, {}, url="http://x/events/acs?token=right", secret="right")


def test_events_listen_records_and_prints_each_event(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    port = free_port()
    # Its own process: it prints events while the in-process `play` below has the standard streams.
    listener = spawn_cli("events", "listen", "--port", str(port), "--count", "2", "-o", "json")
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/health") or listener.poll() is not None)
        played = run_cli(
            "play", call_id, "--tts", "hello", "-p", "emulator-acs", "-o", "json",
            "--callback-url", f"http://127.0.0.1:{port}/events/acs",
        )  # fmt: skip
        assert played.exit_code == 0, played.stderr
        control_id = played.json()["data"]["control_id"]
        out, err = listener.communicate(timeout=30)
    finally:
        listener.kill()
    assert listener.returncode == 0, err
    ready, *lines = [json.loads(line) for line in out.splitlines()]
    # The emulator's ACS profile sets no callback_token: the listener checks the token callplay minted for it,
    # and `play` put that token in the callback URL.
    assert ready["data"]["ready"]["paths"]["acs"]["mode"] == "verified"
    assert [line["data"]["event"]["type"] for line in lines[:2]] == ["PlayStarted", "PlayCompleted"]
    assert lines[-1]["data"]["received"] == 2 and lines[-1]["data"]["rejected"] == 0
    listed = run_cli("events", "list", "--control-id", control_id, "-o", "json").json()["data"]["events"]
    assert [(e["type"], e["state"]) for e in listed] == [("PlayStarted", "playing"), ("PlayCompleted", "finished")]
    status = run_cli("stream-status", call_id, "-p", "emulator-acs", "-o", "json").json()["data"]
    assert [p["state"] for p in status["playbacks"] if p["control_id"] == control_id] == ["finished"]


def test_events_listen_port_in_use_is_a_usage_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        result = run_cli("events", "listen", "--port", str(sock.getsockname()[1]), "--timeout", "1")
    finally:
        sock.close()
    assert result.exit_code == 2 and "cannot listen" in result.stderr
