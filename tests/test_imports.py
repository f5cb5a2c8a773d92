"""`callplay --help` must not import any provider SDK (python -X importtime shows what it loads)."""

from __future__ import annotations

import subprocess
import sys

SDKS = ("azure", "signalwire", "vonage", "vonage_voice", "boto3", "botocore")
POSTGRES = ("psycopg", "psycopg_binary")  # only when state_url names PostgreSQL


def _imported(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "callplay", *args], capture_output=True, text=True, check=False
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return modules


def test_help_imports_no_provider_sdk() -> None:
    loaded = _imported("--help")
    assert "callplay" in loaded  # the measurement works
    assert not loaded & set(SDKS), sorted(loaded & set(SDKS))


def test_play_help_imports_no_provider_sdk() -> None:
    assert not _imported("play", "--help") & set(SDKS)


def test_sqlite_ledger_imports_no_psycopg() -> None:
    assert not _imported("--help") & set(POSTGRES)
    loaded = _imported("play", "demo-call", "--tts", "hi", "-o", "json")  # the demo: a real play, a real ledger
    assert "sqlite3" in loaded  # the measurement works: the ledger was written
    assert not loaded & set(POSTGRES), sorted(loaded & set(POSTGRES))


def _cli_modules_after(code: str) -> set[str]:
    """The callplay.cli.* modules a fresh interpreter has loaded after running `code` (stdout is the CLI's)."""
    code += "\nimport sys; print(' '.join(m for m in sys.modules if m.startswith('callplay.cli.')), file=sys.stderr)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(proc.stderr.split())


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _cli_modules_after("from callplay.cli import main; main(['validate-audio', '--help'])")
    assert "callplay.cli.audio" in loaded
    assert not loaded & {"callplay.cli.play", "callplay.cli.emulator", "callplay.cli.events"}


def test_importing_the_cli_registers_nothing_from_sys_argv() -> None:
    code = "import sys; sys.argv = ['callplay', 'validate-audio']; import callplay.cli"
    assert _cli_modules_after(code) == set()
