"""The committed completion scripts are exactly what the app generates now, and they complete."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from callplay.cli import completions

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("shell", completions.SHELLS)
def test_committed_scripts_are_current(shell: str) -> None:
    committed = (ROOT / "completions" / f"callplay.{shell}").read_text()
    assert committed == completions.script(shell), (
        f"completions/callplay.{shell} is stale: "
        f"run `uv run callplay completions {shell} > completions/callplay.{shell}`"
    )


def _complete(words: str, cword: int) -> list[str]:
    script = ROOT / "completions" / "callplay.bash"
    cmd = f"source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; _callplay; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True).stdout
    return out.split()


def test_bash_completes_commands_options_and_values() -> None:
    assert "play" in _complete("callplay pl", 1) and "loop" not in _complete("callplay pl", 1)
    assert _complete("callplay events l", 2) == ["list", "listen"]
    assert "--control-id" in _complete("callplay stop c1 --con", 3)
    assert _complete("callplay play c1 -o ''", 4) == ["table", "json"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_script_parses() -> None:
    subprocess.run(["fish", "--no-execute", str(ROOT / "completions" / "callplay.fish")], check=True)
