"""`callplay --help` must not import any provider SDK (python -X importtime shows what it loads)."""

from __future__ import annotations

import subprocess
import sys

SDKS = ("azure", "signalwire", "vonage", "vonage_voice", "boto3", "botocore")


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


def test_a_command_imports_only_its_own_module() -> None:
    code = (
        "import sys; sys.argv = ['callplay', 'validate-audio', '--help']; import callplay.cli; "
        "print(' '.join(m for m in sys.modules if m.startswith('callplay.cli.')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(proc.stdout.split())
    assert "callplay.cli.audio" in loaded
    assert not loaded & {"callplay.cli.play", "callplay.cli.emulator", "callplay.cli.events"}
