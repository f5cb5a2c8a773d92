"""The committed completion scripts are exactly what the app generates now, and they complete: commands and
options from the script itself, profile names, call IDs and control IDs from `callplay __complete`, which
answers from the config and the ledger without importing the CLI and without ever writing or failing."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callplay import complete, config, paths
from callplay.cli import completions
from callplay.ledger import Ledger
from callplay.model import TERMINAL_STATES, Playback
from callplay.output import OUTPUT_MODES
from tests.conftest import run_subprocess

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "completions"
PWNED = "/tmp/callplay-completion-pwned"
# (control ID, call ID, profile, state); created one second apart, in this order
PLAYBACKS = [
    ("pb-1", "c1", "prod", "finished"),
    ("pb-2", "c1", "prod", "playing"),
    ("pb-3", "a b", "prod", "stopped"),
    ("pb-4", f"$(touch {PWNED})", "demo", "playing"),
    ("pb-5", "it's", "demo", "finished"),
    ("pb-6", "c1", "demo", "finished"),
    ("pb-7", "c2", "staging", "paused"),
    ("pb-8", "c3", "demo", "dry-run"),
]
CONFIG = """
default_profile = "prod"
[profiles.prod]
provider = "acs"
[profiles.staging]
provider = "vonage"
[profiles."a b"]
provider = "signalwire"
"""


@pytest.mark.parametrize("shell", completions.SHELLS)
def test_committed_scripts_are_current(shell: str) -> None:
    committed = (SCRIPTS / f"callplay.{shell}").read_text()
    assert committed == completions.script(shell), (
        f"completions/callplay.{shell} is stale: "
        f"run `uv run callplay completions {shell} > completions/callplay.{shell}`"
    )


# ------------------------------------------------------------------------------------ the hidden entry


def _state() -> Path:
    return Path(os.environ["CALLPLAY_STATE_DIR"])


@pytest.fixture
def ledger() -> Path:
    """A ledger holding PLAYBACKS, closed and checkpointed as callplay leaves it (no -wal, no -shm)."""
    book = Ledger(_state() / paths.LEDGER_FILE)
    for second, (control_id, call_id, profile, state) in enumerate(PLAYBACKS):
        created = f"2026-01-01T00:00:{second:02d}.000+00:00"
        book.record_playback(Playback(control_id, call_id, profile, "acs", state, [], created_at=created))
    return book.path


@pytest.fixture
def config_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "callplay.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("CALLPLAY_CONFIG", str(path))
    return path


def answer(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert complete.main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out.splitlines()


def test_profiles_come_from_the_config_with_the_demo(capsys: pytest.CaptureFixture[str], config_toml: Path) -> None:
    assert answer(capsys, "profiles") == ["a b", "demo", "prod", "staging"]
    assert answer(capsys, "profiles", "--", "st") == ["staging"]


def test_without_a_config_the_demo_profile_is_the_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert answer(capsys, "profiles") == ["demo"]


def test_calls_are_distinct_newest_first(capsys: pytest.CaptureFixture[str], ledger: Path) -> None:
    assert answer(capsys, "calls") == ["c3", "c2", "c1", "it's", f"$(touch {PWNED})", "a b"]
    assert answer(capsys, "calls", "--profile", "prod") == ["a b", "c1"]
    assert answer(capsys, "calls", "--profile", "prod", "--", "c") == ["c1"]
    assert answer(capsys, "calls", "--profile", "nosuch") == []


def test_controls_are_active_first_then_newest(capsys: pytest.CaptureFixture[str], ledger: Path) -> None:
    assert answer(capsys, "controls") == ["pb-7", "pb-4", "pb-2", "pb-8", "pb-6", "pb-5", "pb-3", "pb-1"]
    assert answer(capsys, "controls", "--call", "c1") == ["pb-2", "pb-6", "pb-1"]
    assert answer(capsys, "controls", "--call", "c1", "--profile", "prod") == ["pb-2", "pb-1"]
    assert answer(capsys, "controls", "--", "pb-5") == ["pb-5"]


def test_at_most_max_values_of_many(capsys: pytest.CaptureFixture[str]) -> None:
    book = Ledger(_state() / paths.LEDGER_FILE)
    for n in range(complete.MAX_VALUES + 10):
        book.record_playback(Playback(f"pb-{n}", f"call-{n:03d}", "demo", "acs", "finished", [], created_at=f"{n:05d}"))
    calls = answer(capsys, "calls")
    assert len(calls) == complete.MAX_VALUES and calls[0] == f"call-{complete.MAX_VALUES + 9:03d}"


def _corrupt_ledger() -> None:
    _state().mkdir(parents=True)
    (_state() / paths.LEDGER_FILE).write_bytes(b"this is not a database" * 100)


def _bad_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.toml").write_text("[profiles.prod\nprovider = ")
    monkeypatch.setenv("CALLPLAY_CONFIG", str(tmp_path / "bad.toml"))


def _state_dir_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("CALLPLAY_STATE_DIR", str(tmp_path / "file"))


def _no_such_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPLAY_STATE_DIR", "~no-such-user-here/state")
    monkeypatch.setenv("CALLPLAY_CONFIG", "~no-such-user-here/c.toml")


@pytest.mark.parametrize(
    ("argv", "setup"),
    [
        (("calls",), lambda tmp, mp: _corrupt_ledger()),
        (("controls",), lambda tmp, mp: _corrupt_ledger()),
        (("profiles",), _bad_toml),
        (("calls",), _state_dir_is_a_file),
        (("calls",), _no_such_user),
        (("profiles",), _no_such_user),
        (("calls",), lambda tmp, mp: None),  # no state dir at all
        (("nosuch",), lambda tmp, mp: None),
        ((), lambda tmp, mp: None),
        (("calls", "a", "b"), lambda tmp, mp: None),
    ],
    ids=[
        "corrupt-ledger",
        "corrupt-ledger-controls",
        "bad-toml",
        "state-dir-is-a-file",
        "no-such-user",
        "no-such-user-profiles",
        "no-state-dir",
        "unknown-kind",
        "no-kind",
        "two-prefixes",
    ],
)
def test_any_failure_prints_nothing_and_exits_0(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    setup: object,
) -> None:
    setup(tmp_path, monkeypatch)  # type: ignore[operator]
    assert answer(capsys, *argv) == []


def test_a_locked_ledger_prints_nothing_at_once(capsys: pytest.CaptureFixture[str], ledger: Path) -> None:
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert answer(capsys, "calls") == []
    finally:
        holder.close()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_never_creates_the_state_dir(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("calls", "controls"):
        answer(capsys, kind)
    assert not _state().exists()


def test_never_writes_a_closed_ledger(capsys: pytest.CaptureFixture[str], ledger: Path) -> None:
    before = _snapshot(_state())
    assert sorted(before) == [paths.LEDGER_FILE]  # callplay leaves no -wal or -shm behind
    assert answer(capsys, "calls") and answer(capsys, "controls")
    assert _snapshot(_state()) == before


def test_reads_what_a_running_writer_has_not_checkpointed(capsys: pytest.CaptureFixture[str], ledger: Path) -> None:
    writer = sqlite3.connect(ledger, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE playbacks SET created_at = '2027' WHERE control_id = 'pb-3'")
    try:
        main_file = ledger.read_bytes()
        assert answer(capsys, "calls")[0] == "a b"
        assert ledger.read_bytes() == main_file
    finally:
        writer.close()


def test_the_fast_path_reads_where_callplay_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path reads the facts of the modules it cannot import (pydantic) from their light homes, the
    same objects, and finds the ledger and config file where callplay does."""
    assert complete.DEMO_PROFILE is config.DEMO_PROFILE
    assert complete.TERMINAL_STATES is TERMINAL_STATES
    assert complete.ledger_path() == Ledger.default().path
    for value in (None, str(tmp_path / "c.toml"), "~/c.toml"):
        if value is None:
            monkeypatch.delenv("CALLPLAY_CONFIG", raising=False)
        else:
            monkeypatch.setenv("callplay_config", value)  # any case, as pydantic-settings reads it
        assert paths.config_path(paths.env_path("CONFIG")) == config.config_path()
        monkeypatch.delenv("callplay_config", raising=False)


def test_the_hidden_entry_imports_no_cli(ledger: Path) -> None:
    """The process is the subject: a Tab must not pay for typer, pydantic, rich or an SDK."""
    proc = run_subprocess("__complete", "controls")
    assert proc.stdout.splitlines()[0] == "pb-7"
    loaded = _imported("__complete", "controls")
    assert "callplay" in loaded  # the measurement works
    heavy = {"typer", "click", "pydantic", "pydantic_settings", "rich", "httpx", "azure", "signalwire", "boto3"}
    assert not loaded & heavy, sorted(loaded & heavy)


def test_a_closed_pipe_says_nothing(ledger: Path) -> None:
    """The shell may stop reading (a new key pressed): no BrokenPipeError on stderr, exit 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        command = [sys.executable, "-m", "callplay", "__complete", "calls"]
        proc = subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (0, "")


def _imported(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "callplay", *args], capture_output=True, text=True)
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


# --------------------------------------------------------------------------------------- the scripts


def _shell_env() -> dict[str, str]:
    """The test's environment, with this venv's `callplay` first on PATH (the scripts run `callplay`)."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture
def no_pwned() -> Iterator[None]:
    Path(PWNED).unlink(missing_ok=True)
    yield
    assert not Path(PWNED).exists(), "a completion executed a value"


def _complete(words: str, cword: int) -> list[str]:
    """COMPREPLY after bash's _callplay with COMP_WORDS=(words), each entry as the shell would insert it."""
    script = SCRIPTS / "callplay.bash"
    cmd = f"source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; _callplay; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True, env=_shell_env()).stdout
    return [line for line in out.splitlines() if line]


def _as_read(inserted: list[str]) -> list[str]:
    """What the shell reads back from each inserted text (one word each)."""
    return [shlex.split(text)[0] for text in inserted]


def _bash_reads(lines: list[str]) -> list[str]:
    """The first word bash reads from each command-line text (a text that ran anything trips no_pwned)."""
    loop = 'for text in "$@"; do eval "set -- $text"; printf "%s\\n" "$1"; done'
    return subprocess.run(["bash", "-c", loop, "bash", *lines], capture_output=True, text=True).stdout.splitlines()


def test_bash_completes_commands_options_and_values() -> None:
    assert "play" in _complete("callplay pl", 1) and "loop" not in _complete("callplay pl", 1)
    assert _complete("callplay events l", 2) == ["list", "listen"]
    assert "--control-id" in _complete("callplay stop c1 --con", 3)
    assert _complete("callplay play c1 -o ''", 4) == list(OUTPUT_MODES)
    assert _complete("callplay -o j", 2) == ["json", "jsonl"]


@pytest.mark.usefixtures("ledger", "config_toml", "no_pwned")
def test_bash_completes_profiles_calls_and_controls() -> None:
    assert _as_read(_complete("callplay stop ''", 2)) == ["c3", "c2", "c1", "it's", f"$(touch {PWNED})", "a b"]
    assert _as_read(_complete("callplay -p prod stop ''", 4)) == ["a b", "c1"]
    assert _as_read(_complete("callplay stop --profile = prod ''", 5)) == ["a b", "c1"]  # --profile=prod
    assert _as_read(_complete("callplay stop -pprod c", 3)) == ["c1"]
    assert _as_read(_complete("callplay volume c1 -c ''", 4)) == ["pb-2", "pb-6", "pb-1"]
    assert _as_read(_complete("callplay stop c1 --control-id = ''", 5)) == ["pb-2", "pb-6", "pb-1"]
    assert _as_read(_complete("callplay events list --call ''", 4))[:2] == ["c3", "c2"]
    assert _as_read(_complete("callplay play c1 -p ''", 4)) == ["a b", "demo", "prod", "staging"]
    assert _as_read(_complete("callplay profiles show ''", 3)) == ["a b", "demo", "prod", "staging"]
    assert _complete("callplay emulator serve --call ''", 4) == []  # a call the emulator makes up


@pytest.mark.usefixtures("ledger", "config_toml", "no_pwned")
def test_bash_values_with_shell_characters_stay_data() -> None:
    """Inserted quoted and read back as the exact value; words typed with quotes (COMP_WORDS keeps them as
    typed) filter as the shell will read them."""
    inserted = _complete("callplay stop '$'", 2)
    assert inserted == [r"\$\(touch\ " + PWNED + r"\)"]
    assert _as_read(inserted) == [f"$(touch {PWNED})"]
    # After a quote the user opened, bash inserts the value inside it and closes it: quoted for inside it.
    opened = {"it": "it's", "$": f"$(touch {PWNED})", "a": "a b"}
    for quote in ("'", '"'):
        for prefix, value in opened.items():
            inserted = _complete(f"callplay stop {shlex.quote(quote + prefix)}", 2)
            assert _bash_reads([quote + text + quote for text in inserted]) == [value]
    assert _as_read(_complete("callplay stop 'a\\ '", 2)) == ["a b"]  # a backslash-escaped space
    assert _as_read(_complete("""callplay -p "'prod'" stop ''""", 4)) == ["a b", "c1"]
    assert _as_read(_complete("""callplay -p "'a b'" stop ''""", 4)) == []  # profile "a b" played nothing


def test_bash_without_a_ledger_offers_nothing_and_says_nothing(no_pwned: None) -> None:
    script = SCRIPTS / "callplay.bash"
    cmd = f"source {script}; COMP_WORDS=(callplay stop ''); COMP_CWORD=2; _callplay; echo n=${{#COMPREPLY[@]}}"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=_shell_env())
    assert (proc.stdout, proc.stderr) == ("n=0\n", "")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
@pytest.mark.usefixtures("ledger", "config_toml", "no_pwned")
def test_zsh_completes_through_bashcompinit() -> None:
    def reply(words: str, cword: int) -> list[str]:
        cmd = (
            f"autoload -U compinit && compinit -u -D; source {SCRIPTS / 'callplay.zsh'}; "
            f"COMP_WORDS=({words}); COMP_CWORD={cword}; _callplay; print -rl -- $COMPREPLY"
        )
        proc = subprocess.run(["zsh", "-f", "-c", cmd], capture_output=True, text=True, env=_shell_env(), check=True)
        return _as_read(proc.stdout.splitlines())

    assert reply("callplay stop ''", 2) == ["c3", "c2", "c1", "it's", f"$(touch {PWNED})", "a b"]
    assert reply("callplay stop --profile=prod ''", 3) == ["a b", "c1"]  # zsh keeps --opt=VALUE one word
    assert reply("callplay -p prod stop c1 -c ''", 6) == ["pb-2", "pb-1"]
    assert reply("callplay volume --profile prod ''", 4) == ["a b", "c1"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_script_parses() -> None:
    subprocess.run(["fish", "--no-execute", str(SCRIPTS / "callplay.fish")], check=True)


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
@pytest.mark.usefixtures("ledger", "config_toml", "no_pwned")
def test_fish_completes() -> None:
    def offered(line: str) -> list[str]:
        cmd = f"source {SCRIPTS / 'callplay.fish'}; complete -C {shlex.quote(line)}"
        proc = subprocess.run(["fish", "--no-config", "-c", cmd], capture_output=True, text=True, env=_shell_env())
        assert proc.stderr == ""
        return [row.split("\t")[0] for row in proc.stdout.splitlines()]

    assert offered("callplay stop ") == ["c3", "c2", "c1", "it's", f"$(touch {PWNED})", "a b"]
    assert offered("callplay stop -p prod ") == ["a b", "c1"]
    assert offered("callplay -p prod stop c1 -c ") == ["pb-2", "pb-1"]
    assert offered("callplay stop c1 --control-id=pb-") == [f"--control-id=pb-{n}" for n in (2, 6, 1)]
    assert offered("callplay -p ") == ["a b", "demo", "prod", "staging"]
    assert "stop" in offered("callplay -p prod st")
