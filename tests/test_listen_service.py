"""`events listen` as a service (issue 15, item 4): /healthz, JSON logs, graceful SIGTERM, a warning on a
non-local bind, no local token with a shared ledger, and two replicas on one ledger recording each event once.

The SIGTERM and replica tests run `events listen` as real processes: the process (its signal, its exit) is
the subject, and two replicas are two processes."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import socket
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from callplay.core.callbacks import stored_token
from callplay.emulator.signalwire import sign as signalwire_sign
from callplay.events.listen import listener_secrets
from callplay.events.receiver import EventReceiver
from callplay.events.service_log import JsonFormatter
from callplay.ledger import Ledger
from callplay.model import Playback
from tests.conftest import answers, free_port, run_cli, spawn_cli, wait_until, web
from tests.test_events_auth import body_for

SW = "emulator-signalwire"


def secrets_of(config_file: Path) -> dict[str, str]:
    """Every secret in the emulator's config, by profile.setting."""
    table = tomllib.loads(config_file.read_text())["profiles"]
    names = ("signing_key", "signature_secret", "callback_secret", "callback_token", "access_key", "token")
    return {f"{p}.{k}": str(v) for p, t in table.items() for k, v in t.items() if k in names and v}


# ------------------------------------------------------------------------------------------------ /healthz


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[EventReceiver]:
    r = EventReceiver(Ledger(tmp_path / "ledger.sqlite3")).start()
    yield r
    r.stop()


def test_healthz_is_ok_while_the_ledger_answers_and_503_when_it_does_not(
    receiver: EventReceiver, tmp_path: Path
) -> None:
    root = f"http://127.0.0.1:{receiver.port}"
    ok = web.get(f"{root}/healthz")
    assert (ok.status_code, ok.json()) == (200, {"status": "ok", "ledger": "ok"})
    # The ledger's file turns into something SQLite cannot open: the process is up, the ledger is not.
    for path in tmp_path.glob("ledger.sqlite3*"):
        path.unlink()
    (tmp_path / "ledger.sqlite3").mkdir()
    down = web.get(f"{root}/healthz")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable" and down.json()["ledger"].startswith("unreachable")
    assert str(tmp_path) not in down.text  # the kind of failure only: the endpoint is open to anyone
    assert web.get(f"{root}/health").status_code == 200  # liveness stays


def test_healthz_is_503_when_the_database_server_is_down(tmp_path: Path) -> None:
    from callplay.ledger_pg import backend_for

    port = free_port()  # nothing listens there: a PostgreSQL server that is down
    ledger = Ledger(backend=backend_for(f"postgresql://callplay@127.0.0.1:{port}/callplay"), migrate=False)
    r = EventReceiver(ledger).start()
    try:
        down = web.get(f"http://127.0.0.1:{r.port}/healthz", timeout=30)
    finally:
        r.stop()
    assert down.status_code == 503 and down.json()["ledger"].startswith("unreachable")


# ------------------------------------------------------------------------------------------------ JSON logs


def test_json_logs_are_one_object_per_line_and_hold_no_secret(config_file: Path) -> None:
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    secrets = secrets_of(config_file)
    answered: dict[str, int] = {}

    def send() -> None:
        wait_until(lambda: answers(f"{root}/health"))
        url = f"{root}/events/signalwire"
        body = body_for("signalwire", control_id="cp-0000000000a1")
        headers = {**signalwire_sign(secrets[f"{SW}.signing_key"], url, body), "X-Request-ID": "lb-req-1"}
        answered["signed"] = web.post(url, content=body, headers=headers).status_code
        # A secret in a query string (here: a real one, on the wrong path) must not reach the log.
        leaky = f"{root}/events/acs?token={secrets[f'{SW}.signing_key']}"
        answered["wrong"] = web.post(leaky, content=body_for("acs")).status_code
        token = stored_token("emulator-acs", create=False)
        secrets["minted acs token"] = token or "missing"
        answered["acs"] = web.post(f"{root}/events/acs?token={token}", content=body_for("acs")).status_code

    sender = threading.Thread(target=send)
    sender.start()
    result = run_cli("events", "listen", "--port", str(port), "--count", "2", "--timeout", "60", "--log-format", "json")
    sender.join()
    assert result.exit_code == 0, result.stderr
    assert answered == {"signed": 200, "wrong": 401, "acs": 200}
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is one JSON object
    for line in lines:
        assert dt.datetime.fromisoformat(line["time"]).tzinfo is not None
        assert line["level"] in ("info", "warning", "error") and line["event"] and line["message"]
    kinds = [line["event"] for line in lines]
    assert kinds[0] == "ready" and kinds[-1] == "stopped"
    assert {"received", "refused", "recorded"} <= set(kinds)
    mine = [line for line in lines if line.get("request_id") == "lb-req-1"]
    assert {(m["event"], m.get("provider"), m.get("status")) for m in mine} == {
        ("recorded", "signalwire", None),
        ("received", "signalwire", 200),
    }
    refused = next(line for line in lines if line["event"] == "refused")
    assert (refused["provider"], refused["status"]) == ("acs", 401) and refused["request_id"] != "lb-req-1"
    for what, secret in secrets.items():
        assert secret not in result.stderr + result.stdout, what


def test_the_json_formatter_masks_tokens_in_urls_and_every_secret_it_knows() -> None:
    record = logging.makeLogRecord(
        {
            "name": "callplay.events",
            "levelname": "WARNING",
            "msg": "posted to %s",
            "args": ("https://h.example/events/acs?token=abc123&x=1",),
            "reason": "bad signature for key sk-very-secret-42",
        }
    )
    line = json.loads(JsonFormatter(frozenset({"sk-very-secret-42"})).format(record))
    assert line["message"] == "posted to https://h.example/events/acs?token=***&x=1"
    assert line["reason"] == "bad signature for key ***"


# ------------------------------------------------------------------------------------- binding and tokens


def test_a_non_local_bind_warns_in_one_line_and_a_local_one_does_not(config_file: Path) -> None:
    wide = run_cli("events", "listen", "--host", "0.0.0.0", "--port", "0", "--timeout", "0.1", "-p", SW)
    assert wide.exit_code == 0, wide.stderr
    [warning] = [line for line in wide.stderr.splitlines() if "reachable from other machines" in line]
    assert warning.startswith("warning: --host 0.0.0.0") and "must be authenticated" in warning
    local = run_cli("events", "listen", "--port", "0", "--timeout", "0.1", "-p", SW)
    assert "reachable" not in local.stderr


def test_on_a_shared_ledger_no_callback_token_is_minted_locally(config_file: Path) -> None:
    found = listener_secrets(None, shared=True)
    assert "acs" not in found.secrets  # neither the demo nor emulator-acs sets callback_token
    assert sum("differ between replicas" in w for w in found.warnings) == 2
    assert stored_token("emulator-acs", create=False) is None
    assert found.secrets["signalwire"]  # a signing secret comes from the profile: every replica has it
    configured = config_file.read_text().replace(
        "[profiles.emulator-acs]\n", '[profiles.emulator-acs]\ncallback_token = "shared-token-0123456789"\n'
    )
    config_file.write_text(configured)
    assert listener_secrets(None, shared=True).secrets["acs"] == ["shared-token-0123456789"]


def test_a_listener_on_postgresql_mints_no_token(config_file: Path, pg_url: str) -> None:
    result = run_cli(
        "events", "listen", "--port", "0", "--timeout", "0.1", "-o", "json", env={"CALLPLAY_STATE_URL": pg_url}
    )
    assert result.exit_code == 0, result.stderr
    ready = json.loads(result.stdout.splitlines()[0])["data"]["ready"]
    assert ready["paths"]["acs"]["mode"] == "refused" and ready["paths"]["signalwire"]["mode"] == "verified"
    assert any("emulator-acs" in w and "replicas" in w for w in ready["warnings"])
    assert stored_token("emulator-acs", create=False) is None


# ------------------------------------------------------------------------------------------------ SIGTERM


def _slow_post(port: int, url: str, body: bytes, headers: dict[str, str]) -> socket.socket:
    """A request in flight until _finish: its headers sent with `Expect: 100-continue`, and the listener's
    `100 Continue` read back, so it has surely taken the request and waits for the body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    path = url.split(str(port), 1)[1]
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += ["Expect: 100-continue", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    interim = _read_answer(sock)
    assert interim.startswith(b"HTTP/1.1 100 "), interim
    return sock


def _finish(sock: socket.socket, body: bytes) -> int:
    """Send the body of a request _slow_post began; the status of the answer (0: none, the connection closed)."""
    with sock:
        sock.sendall(body)
        answer = _read_answer(sock)
    return int(answer.split()[1]) if answer else 0


def _read_answer(sock: socket.socket) -> bytes:
    """An answer's head (status line and headers)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _sw_event(key: str, control_id: str, state: str, at: float, port: int) -> tuple[str, bytes, dict[str, str]]:
    url = f"http://127.0.0.1:{port}/events/signalwire"
    params = {"control_id": control_id, "call_id": "call-replicas", "node_id": "n1", "state": state}
    body = json.dumps({"event_type": "calling.call.play", "timestamp": at, "params": params}).encode()
    return url, body, signalwire_sign(key, url, body)


def _listeners(*ports: int) -> list[subprocess.Popen[Any]]:
    """`events listen` on each port (started at once), each up and its ledger reachable."""
    args = ("events", "listen", "-p", SW, "--log-format", "json", "-o", "json")
    procs = [spawn_cli(*args, "--port", str(port)) for port in ports]
    for port, proc in zip(ports, procs, strict=True):
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz") or proc.poll() is not None)  # noqa: B023
        assert proc.poll() is None, proc.communicate()
    return procs


def _stop(proc: subprocess.Popen[Any], *, signalled: bool = False) -> tuple[str, str]:
    """SIGTERM (unless it was `signalled` already) and the process's output once it has ended."""
    if not signalled and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=30)
    finally:
        proc.kill()


def test_sigterm_finishes_the_requests_in_flight_then_exits_0(config_file: Path) -> None:
    key = secrets_of(config_file)[f"{SW}.signing_key"]
    port = free_port()
    [proc] = _listeners(port)
    try:
        now = time.time()
        events = [_sw_event(key, f"cp-00000000f{i:03d}", "finished", now, port) for i in range(3)]
        in_flight = [_slow_post(port, url, body, headers) for url, body, headers in events]
        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: _refuses_connections(port))  # stopped accepting...
        assert proc.poll() is None  # ...and waits for the three
        statuses = [_finish(sock, body) for sock, (_, body, _) in zip(in_flight, events, strict=True)]
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert statuses == [200, 200, 200]
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["data"] | {"urls": None} == {
        "received": 3,
        "rejected": 0,
        "urls": None,
        "paths": {"acs": "refused", "signalwire": "verified", "vonage": "refused", "chime": "refused"},
        "stopped": "signal",
    }
    kinds = [json.loads(line)["event"] for line in err.splitlines()]
    after = kinds[kinds.index("stopping") :]  # the three were answered after the stop began
    assert after[-1] == "stopped" and after.count("received") == after.count("recorded") == 3
    recorded = {e.control_id for e in Ledger.default().events()}
    assert recorded == {f"cp-00000000f{i:03d}" for i in range(3)}


def test_sigterm_as_soon_as_it_answers_is_a_normal_stop(config_file: Path) -> None:
    # The listener answers before it prints its banner: a signal in between is a stop like any other.
    [proc] = _listeners(free_port())
    _, err = _stop(proc)
    assert proc.returncode == 0, err


def test_a_second_signal_stops_at_once_with_130(config_file: Path) -> None:
    port = free_port()
    [proc] = _listeners(port)
    try:
        stuck = _slow_post(port, f"http://127.0.0.1:{port}/events/signalwire", b"{" * 100, {})
        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: _refuses_connections(port))  # stopping, and waiting for the stuck request
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    stuck.close()
    assert proc.returncode == 130
    assert "error: stopped at once" in err and "Traceback" not in err


# ----------------------------------------------------------------------------------------------- replicas

STATES = ["playing", "paused", "playing", "paused", "playing", "finished"]
SIGTERM_AT = 3  # the event whose first copy is in flight on replica A when A is told to stop


def test_two_replicas_on_one_ledger_record_each_event_once_in_order(
    config_file: Path, state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLPLAY_STATE_URL", state_url)  # the replicas' and this process's ledger
    _replicas_record_each_event_once(config_file)


def _replicas_record_each_event_once(config_file: Path) -> None:
    """Events for one playback sent alternately to replicas A and B, each also delivered again to the other;
    A gets SIGTERM while one is in flight on it, and its later copies go to B (as a load balancer would send
    them once A refuses connections): each event recorded once, in order, and the final state right."""
    key = secrets_of(config_file)[f"{SW}.signing_key"]
    control_id = "cp-0000000repl1"
    Ledger.default().record_playback(Playback(control_id, "call-replicas", SW, "signalwire", "requested", ["x"]))
    ports = [free_port(), free_port()]
    replicas = _listeners(*ports)
    first: list[int] = []
    again: list[int] = []
    try:
        start = time.time()
        for i, state in enumerate(STATES):
            order = [i % 2, 1 - i % 2]
            if i == SIGTERM_AT:
                first.append(_deliver_during_sigterm(key, control_id, state, start + i, ports, replicas[0]))
                order = [1, 1]
            else:
                first.append(_deliver(key, control_id, state, start + i, [ports[n] for n in order]))
            again.append(_deliver(key, control_id, state, start + i, [ports[n] for n in reversed(order)]))
        # A was told to stop once, during delivery: it ends by itself (a second signal would stop it at once).
        outcomes = [_stop(replicas[0], signalled=True), _stop(replicas[1])]
    finally:
        for proc in replicas:
            proc.kill()
    assert first == [200] * len(STATES)
    assert all(status in (200, 202, 204, 409) for status in again), again  # a duplicate: taken, or refused
    assert [proc.returncode for proc in replicas] == [0, 0], [err for _, err in outcomes]
    listed = run_cli("events", "list", "--control-id", control_id, "-o", "json")
    assert [e["state"] for e in listed.json()["data"]["events"]] == STATES
    record = Ledger.default().get(control_id)
    assert record is not None and record.state == "finished"


def _deliver(key: str, control_id: str, state: str, at: float, ports: list[int]) -> int:
    """POST the event to the first replica that takes connections (the signature covers that one's URL)."""
    for port in ports:
        url, body, headers = _sw_event(key, control_id, state, at, port)
        try:
            return web.post(url, content=body, headers=headers, timeout=30).status_code
        except httpx.ConnectError:
            continue
    raise AssertionError(f"no replica took the {state} event")


def _deliver_during_sigterm(
    key: str, control_id: str, state: str, at: float, ports: list[int], proc: subprocess.Popen[Any]
) -> int:
    url, body, headers = _sw_event(key, control_id, state, at, ports[0])
    sock = _slow_post(ports[0], url, body, headers)
    proc.send_signal(signal.SIGTERM)
    wait_until(lambda: _refuses_connections(ports[0]))
    return _finish(sock, body)
