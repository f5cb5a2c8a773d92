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
