"""play --wait / loop --wait show their progress as it happens (callplay.live), and -o jsonl streams it.

In-process runs have no terminal: plain lines on stderr (table) or JSON Lines on stdout (jsonl). One subprocess
on a pseudo-terminal checks what a person sees: the rich Live display, while the playback still plays.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from callplay.emulator.app import EmulatorServer
from callplay.live import _LiveRows
from callplay.model import Event, Playback
from tests.conftest import CliResult, admin, answers, emulator_call, free_port, run_cli, wait_until, web
from tests.test_events_auth import body_for

ACS = ("-p", "emulator-acs")
# 150 characters: 10 simulated seconds of speech on the emulator (15 characters a second).
TEN_SECONDS = "Ten seconds of speech. " * 6 + "Thank you."


def plain(text: str) -> str:
    """Terminal output without its escape sequences (style, cursor movement)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def jsonl(result: CliResult) -> list[dict[str, Any]]:
    """stdout as JSON Lines: every line one object (a pretty-printed envelope fails here)."""
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_table_mode_prints_plain_progress_lines_on_stderr(config_file: Path, call_id: str) -> None:
    result = run_cli("play", call_id, "--tts", "hello there", "--wait", *ACS)
    assert result.exit_code == 0, result.stderr
    control_id = re.search(r"cp-[0-9a-f]{12}", result.stdout)
    assert control_id, result.stdout
    lines = result.stderr.splitlines()
    assert lines[0] == f"accepted {control_id[0]} on {call_id} (emulator-acs, acs)"
    rows = [line.split() for line in lines[1:]]
    assert [(row[1], row[2]) for row in rows] == [("PlayStarted", "playing"), ("PlayCompleted", "finished")]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", row[0]) for row in rows)  # local HH:MM:SS, not ISO
    assert "\x1b" not in result.stderr  # no colour, no cursor movement in a log
    # stdout (not a terminal, so not the display's terminal) keeps the whole result, events included.
    assert "PlayCompleted" in result.stdout


def test_jsonl_streams_accepted_then_events_then_the_envelope(config_file: Path, call_id: str) -> None:
    result = run_cli("play", call_id, "--tts", "hello there", "--wait", "-o", "jsonl", *ACS)
    assert result.exit_code == 0, result.stderr
    lines = jsonl(result)
    assert [line["kind"] for line in lines] == ["accepted", "event", "event", "result"]
    assert all(line["version"] == 1 and line["command"] == "play" for line in lines)
    accepted, *events, last = lines
    envelope = {k: v for k, v in last.items() if k != "kind"}
    assert envelope.keys() == {"version", "command", "ok", "data", "error"} and envelope["ok"] is True
    assert accepted["data"]["control_id"] == last["data"]["control_id"]
    assert [e["data"] for e in events] == last["data"]["events"]
    assert [e["data"]["type"] for e in events] == ["PlayStarted", "PlayCompleted"]
    assert "accepted" not in result.stderr  # the stream is the progress: nothing live on stderr


def test_json_keeps_a_single_envelope(config_file: Path, call_id: str) -> None:
    result = run_cli("play", call_id, "--tts", "hello there", "--wait", "-o", "json", *ACS)
    envelope = result.json()  # the whole of stdout is one JSON document
    assert "kind" not in envelope and result.data()["state"] == "finished"
    assert result.stderr == ""  # not a terminal: nothing live


def test_jsonl_without_wait_or_with_an_error_is_the_envelope_alone(config_file: Path, call_id: str) -> None:
    played = run_cli("play", call_id, "--tts", "hi", "-o", "jsonl", *ACS)
    [line] = jsonl(played)
    assert (line["kind"], line["ok"], line["data"]["call_id"]) == ("result", True, call_id)
    failed = run_cli("play", call_id, "--tts", "hi", "--wait", "-o", "jsonl", "-p", "no-such-profile")
    assert failed.exit_code == 3
    [line] = jsonl(failed)
    assert (line["kind"], line["ok"], line["error"]["code"]) == ("result", False, "config")
    listed = run_cli("events", "list", "-o", "jsonl")
    assert [line["kind"] for line in jsonl(listed)] == ["result"]


def test_an_unknown_output_mode_names_the_choices(call_id: str) -> None:
    result = run_cli("play", call_id, "--tts", "hi", "-o", "yaml")
    assert result.exit_code == 2
    assert "use --output table, json or jsonl" in result.stderr


def test_events_listen_jsonl_streams_ready_events_and_the_envelope() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def post_one() -> None:
        wait_until(lambda: answers(f"{url}/health"))
        web.post(f"{url}/events/signalwire", content=body_for("signalwire", control_id="cp-00000000live"))

    poster = threading.Thread(target=post_one, daemon=True)
    poster.start()
    result = run_cli(
        "events", "listen", "--port", str(port), "--count", "1", "--allow-unsigned", "signalwire", "-o", "jsonl"
    )
    poster.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    ready, event, last = jsonl(result)
    assert [ready["kind"], event["kind"], last["kind"]] == ["ready", "event", "result"]
    assert ready["data"]["paths"]["signalwire"]["mode"] == "unchecked"
    assert (event["data"]["control_id"], event["data"]["state"]) == ("cp-00000000live", "finished")
    assert (last["ok"], last["data"]["received"]) == (True, 1)


def test_the_live_display_fits_80_columns_and_keeps_ids_whole() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, height=12, force_terminal=True, no_color=True)
    rows = _LiveRows(console)
    rows.pb = Playback("cp-0123456789ab", "call-" + "x" * 30, "emulator-signalwire", "signalwire", "playing", [])
    rows.rows = [
        Event("PlayStarted", f"2026-01-01T00:00:{i:02d}+00:00", "acs", state="playing", detail={"message": "m" * 200})
        for i in range(20)
    ]
    console.print(rows._render())
    lines = plain(buffer.getvalue()).splitlines()
    assert lines[0].startswith("cp-0123456789ab  call call-xxx")
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[1] == "... 12 earlier (callplay events list -c cp-0123456789ab)"  # what no longer fits the screen
    assert len(lines) == 12 and lines[-1].startswith("waiting ")
    assert lines[-2].endswith("…")  # the detail is cut, not wrapped


def test_on_a_terminal_the_control_id_and_first_event_show_while_it_plays(
    emulator: EmulatorServer, config_file: Path, call_id: str
) -> None:
    """The acceptance check of issue 12: play --wait on a terminal at 80x24 shows the control ID and the
    PlayStarted row as soon as the provider has them, long before the playback ends, and the final rows after.

    Timed from the moment the emulator holds the play, not from the process start: interpreter start-up (and,
    where no bytecode cache is written, compiling the SDKs) is not what this test is about."""
    admin.post(f"{emulator.http_url}/_emulator/clock", json={"speed": 3}).raise_for_status()  # 10 s: ~3.3 s
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "24", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "callplay", "play", call_id, "--tts", TEN_SECONDS, "--wait", *ACS],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    screen = b""
    seen: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "held" not in seen and emulator_call(emulator, call_id)["playbacks"]:
                seen["held"] = time.monotonic()
            ready, _, _ = select.select([master], [], [], 0.02)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the process has closed the terminal
                    break
                screen += chunk
                if b"PlayStarted" in screen and re.search(rb"cp-[0-9a-f]{12}", screen):
                    seen.setdefault("row", time.monotonic())
            elif proc.poll() is not None:
                break
        seen["exit"] = time.monotonic()
        assert proc.wait(timeout=30) == 0, screen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = plain(screen.decode(errors="replace"))
    assert {"held", "row"} <= seen.keys(), text
    assert seen["row"] - seen["held"] < 2.0, text
    assert seen["exit"] - seen["row"] > 1.5, text  # shown while it played (it plays about 3.3 s)
    control_id = re.findall(r"cp-[0-9a-f]{12}", text)[0]
    lines = [part for line in text.split("\n") for part in line.split("\r")]
    assert any(line.startswith(control_id) for line in lines)  # the display's first line, the ID whole
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert "PlayCompleted" in text and "waited " in text
