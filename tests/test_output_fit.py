"""Tables at 80 columns never split an ID, a path, a URL or a command; off a terminal they are plain aligned
text (no box drawing, one line per row); --dry-run prints the request as `POST URL` and plain JSON.

The terminal path is drawn on a rich Console forced to be an 80-column terminal; the pipe path is what
`run_cli` sees (stdout is not a terminal there), and what output.stdout_console() picks off a terminal.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from callplay import output
from callplay.audio.report import ValidationReport
from callplay.audio.rules import AudioSettings
from callplay.audio.validate import CheckOptions, check_path
from callplay.chime_lambda.package import LambdaPackage
from callplay.model import (
    CallStatus,
    CheckResult,
    ControlResult,
    Event,
    EventList,
    ListedPlayback,
    Participant,
    Playback,
    PlaybackList,
    ProfileValue,
    ProfileView,
    StillPlaying,
)
from tests.audio import gen
from tests.conftest import CliResult

BOX = set("│┃─━┏┓┗┛┣┫┡┩╇┳┻╋┬┴┼├┤┌┐└┘╭╮╰╯═║")
CONTROL = "cp-7a1aaad76ea1"
OTHER = "cp-0b9e44c1d2f3"
CALL = "421f0b00-0c2d-4e4f-9a1b-5c6d7e8f9a0b"  # ACS call connection IDs are UUIDs
OTHER_CALL = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
ENDPOINT = "https://contoso-prod.unitedstates.communication.azure.com"
URL = "https://prompts.example.com/ivr/en-us/welcome-to-support-v3.wav"  # 80 columns less a label
PATH = "/srv/prompts/ivr/en-us/holiday/closed-message.wav"
ISO = "2026-03-12T09:15:42.123+00:00"
LOCAL = dt.datetime.fromisoformat(ISO).astimezone().strftime("%H:%M:%S")
LONG_TEXT = "code=8535 subCode=0 message=The file format is not supported: 44.1 kHz stereo WAV, needs 16 kHz mono"


def tty(result: object, width: int = 80) -> str:
    """What a terminal `width` columns wide shows."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=True, color_system=None, legacy_windows=False)
    output.print_tables(output.tables_for(result), output._RichPrinter(console))
    return buf.getvalue()


def piped(result: object, capsys: pytest.CaptureFixture[str]) -> str:
    """What a pipe gets (stdout_console() off a terminal, as under pytest)."""
    capsys.readouterr()
    output.print_tables(output.tables_for(result))
    return capsys.readouterr().out


def assert_whole(text: str, *ids: str, width: int = 80) -> None:
    lines = text.splitlines()
    assert all(cell_len(line) <= width for line in lines), "\n" + text
    for ident in ids:
        assert any(ident in line for line in lines), f"{ident!r} is split or missing:\n{text}"


def events() -> list[Event]:
    return [
        Event("PlayStarted", ISO, "acs", CALL, CONTROL, "playing", {"code": 200, "subCode": 0}),
        Event("PlayFailed", ISO, "acs", CALL, OTHER, "failed", {"code": 400, "message": LONG_TEXT}),
    ]


def playback(**kw: object) -> Playback:
    base: dict[str, object] = {
        "control_id": CONTROL,
        "call_id": CALL,
        "profile": "production-contoso-eastus",
        "provider": "acs",
        "state": "finished",
        "sources": [URL, PATH, "tts:Thank you for calling, all our agents are busy; please stay on the line."],
        "targets": ["8:acs:1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718_0000001a-2b3c"],
        "events": events(),
    }
    return Playback(**{**base, **kw})  # type: ignore[arg-type]


def listed(control_id: str, state: str, call: str = CALL) -> ListedPlayback:
    return ListedPlayback(
        control_id, call, "prod", "acs", state, [URL, PATH], 1, None, ISO, ISO, "PlayStarted", display_state=state
    )


PARTICIPANT = "8:acs:1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718_0000001a-2b3c"
CONFIG = "/home/me/.config/callplay/config.toml"
HOOK = "https://hooks.contoso.example/callplay/acs/events"


def results() -> dict[str, tuple[object, list[str]]]:
    """Each result type, built as the core builds it, and the IDs it shows."""
    still = StillPlaying(PATH, 12.0, "a Chime Speak plays to its end", "hang up")
    profile_values = [
        ProfileValue("endpoint", ENDPOINT, f"file:{CONFIG}"),
        ProfileValue("callback_url", HOOK, "env:CALLPLAY_CALLBACK_URL"),
    ]
    status = CallStatus(
        CALL,
        "prod",
        "acs",
        "connected",
        participants=[Participant(PARTICIPANT, "user")],
        playbacks=[listed(CONTROL, "playing"), listed(OTHER, "finished")],
    )
    return {
        "playback": (playback(), [CONTROL, OTHER, CALL, URL, PATH]),
        "control": (
            ControlResult("stop", CALL, "prod", "chime", CONTROL, "stopped", still_playing=[still]),
            [CONTROL, CALL],
        ),
        "call status": (status, [CALL, CONTROL, OTHER, PARTICIPANT]),
        "playbacks": (
            PlaybackList([listed(CONTROL, "playing"), listed(OTHER, "finished", call=OTHER_CALL)]),
            [CONTROL, OTHER],  # two UUID call IDs beside them cannot fit at 80 columns: those give way
        ),
        "events": (EventList(events()), [CONTROL, OTHER]),
        "profile": (
            ProfileView("prod", "acs", CONFIG, True, profile_values),
            [ENDPOINT, HOOK, "$CALLPLAY_CALLBACK_URL", "Profile prod (acs)", CONFIG],
        ),
        "check": (
            CheckResult("prod", "acs", "GET /calling/callConnections/{id} (a call that does not exist)", True, True),
            ["GET /calling/callConnections/{id}"],
        ),
        "chime package": (
            LambdaPackage("/home/me/build/callplay-chime-handler.zip", ["handler.py"], "ab" * 32),
            ["/home/me/build/callplay-chime-handler.zip", "ab" * 32],
        ),
    }


@pytest.mark.parametrize("name", list(results()))
def test_at_80_columns_no_id_is_split(name: str) -> None:
    result, ids = results()[name]
    assert_whole(tty(result), *ids)


@pytest.mark.parametrize("name", list(results()))
def test_piped_tables_are_plain_text(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    result, ids = results()[name]
    text = piped(result, capsys)
    assert not BOX & set(text), text
    assert_whole(text, *ids, width=10_000)  # a pipe has no width: nothing is folded either


def test_times_show_as_local_clock_in_tables_and_iso_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    for text in (tty(EventList(events())), piped(EventList(events()), capsys)):
        assert LOCAL in text and ISO not in text and "2026-03-12" not in text
    assert EventList(events()).to_dict()["events"][0]["time"] == ISO


def test_crowded_free_text_folds_and_the_id_column_does_not() -> None:
    """Four wide free-text columns and one of IDs: rich alone would narrow them all alike and split the IDs."""
    words = "the quick brown fox jumps over the lazy dog " * 2
    columns = ["what", "why", "control id", "detail", "more"]
    spec = output.TableSpec("Crowded", columns, [[words, words, CONTROL, words, words]] * 2, ids=("control id",))
    text = _drawn(spec)
    assert_whole(text, CONTROL)
    assert "fox jumps" in text  # the free text folded between words, not cut


def _drawn(spec: output.TableSpec, width: int = 80) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=True, color_system=None)
    output.print_tables([spec], output._RichPrinter(console))
    return buf.getvalue()


def test_free_text_gives_way_to_ids() -> None:
    """The long detail folds; the control IDs beside it stay whole, and the detail is all there."""
    text = tty(EventList(events()))
    assert_whole(text, CONTROL, OTHER)
    assert "44.1 kHz" in text.replace("\n", " ") or "44.1" in text
    assert len(text.splitlines()) > 4  # the detail took more than one line


def test_grep_finds_whole_rows(capsys: pytest.CaptureFixture[str]) -> None:
    text = piped(playback(), capsys)
    rows = [line for line in text.splitlines() if "cp-" in line]
    assert any(line.split()[:2] == ["control", "id"] and line.split()[-1] == CONTROL for line in rows), text
    started = next(line for line in rows if OTHER in line and "PlayFailed" in line)
    assert started.split()[:4] == [LOCAL, "PlayFailed", "failed", OTHER] and LONG_TEXT in started
    # a multi-line cell (the sources) is one line too; a later table gets its title, after a blank line
    assert f"{URL}; {PATH}; tts:Thank you" in text
    assert "\n\nEvents\ntime" in text


def test_columns_line_up_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    lines = piped(EventList(events()), capsys).splitlines()
    assert lines[0].split() == ["time", "type", "state", "control", "id", "detail"]
    starts = {line.index("cp-") for line in lines[1:]}
    assert starts == {lines[0].index("control id")}


def test_validate_audio_paths_stay_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # Names short enough that each fix command fits 80 columns (a longer one is still printed whole, on one line).
    files = [gen.write(Path("ivr/en-us") / f"welcome-{i}.wav", 8000) for i in range(3)]
    options = CheckOptions(["acs"], AudioSettings())
    report = ValidationReport(["acs"], [check_path(str(f), options) for f in files])
    # Under the table, each whole and ready to paste: the real out folder beside the one checked.
    commands = [f"callplay convert {f} --target acs --out ivr/en-us-acs/" for f in files]
    assert_whole(tty(report), *map(str, files), *commands)
    text = piped(report, capsys)
    assert not BOX & set(text)
    assert [line.strip() for line in text.partition("\nfix with:\n")[2].splitlines()] == commands
    fail_rows = [line for line in text.splitlines() if line.startswith("FAIL")]
    assert [row.split()[1] for row in fail_rows] == sorted(map(str, files))  # one line per file


def test_dry_run_prints_the_request_as_plain_json(cli: Callable[..., CliResult]) -> None:
    res = cli("play", "c1", "--tts", "hi", "--dry-run")
    assert res.exit_code == 0, res.stderr
    first, _, body = res.stdout.partition("\n")
    method, url = first.split(" ")
    assert method == "POST" and url.startswith("http") and "c1" in url
    assert json.loads(body)["playSources"][0]["text"]["text"] == "hi"


def test_dry_run_on_a_terminal_keeps_the_summary_above_the_request() -> None:
    request = {"method": "POST", "url": "https://acs.example/calling/callConnections/c1:play", "body": {"a": 1}}
    text = tty(playback(state="dry-run", events=[], request=request))
    summary, _, rest = text.partition("\nPOST ")
    assert CONTROL in summary and not BOX & set(rest)
    assert rest.startswith("https://acs.example/calling/callConnections/c1:play\n")
    assert json.loads(rest.partition("\n")[2]) == {"a": 1}


def test_commands_piped_keep_control_ids_whole(cli: Callable[..., CliResult], config_file: Path, call_id: str) -> None:
    control = cli("play", call_id, "--tts", "hello", "--wait", "-o", "json").data()["control_id"]
    for argv in (["stream-status", call_id], ["events", "list"], ["playbacks"]):
        res = cli(*argv)
        assert res.exit_code == 0, res.stderr
        assert not BOX & set(res.stdout), res.stdout
        assert any(control in line.split() for line in res.stdout.splitlines()), res.stdout


def test_the_plain_path_does_not_import_rich() -> None:
    code = (
        "import sys; from callplay import output; "
        "output.print_tables([output.TableSpec('t', ['a', 'b'], [['1', '2']])]); "
        "assert 'rich' not in sys.modules, sorted(m for m in sys.modules if m.startswith('rich'))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "a  b\n1  2\n"
