"""Ctrl-C and SIGTERM at any moment of a callplay process: exit 130, one error line, never a traceback, and
a playback it started is stopped. Real processes (the signal and the exit status are the subject).

"Right after spawn" means the moment the process handles SIGTERM itself (its SigCgt mask in /proc): before
that the interpreter is still starting and no program can have a say (the OS default ends it, 143).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from callplay.errors import ExitCode
from callplay.ledger import Ledger
from tests.conftest import spawn_cli, wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads SigCgt from /proc")

LOOP = ("loop", "demo-call", "--tts", "hold on", "--wait", "-o", "json")


def _catches_sigterm(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in text.splitlines() if line.startswith("SigCgt:"))
    return bool(mask & (1 << (signal.SIGTERM - 1)))


def _signal_after(proc: subprocess.Popen[str], signum: int, delay: float) -> tuple[str, str]:
    """Send `signum` `delay` seconds after the process took SIGTERM over; its stdout and stderr."""
    try:
        wait_until(lambda: _catches_sigterm(proc.pid) or proc.poll() is not None, timeout=30)
        time.sleep(delay)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return out, err


def _assert_interrupted(proc: subprocess.Popen[Any], err: str) -> None:
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: interrupted"), err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay", [0.0, 0.15], ids=["at-once", "during-start-up"])
def test_a_signal_during_start_up_exits_130_with_one_line(signum: int, delay: float) -> None:
    proc = spawn_cli(*LOOP)
    _, err = _signal_after(proc, signum, delay)
    _assert_interrupted(proc, err)


def test_the_console_script_takes_sigterm_before_its_imports() -> None:
    script = shutil.which("callplay", path=str(Path(sys.executable).parent))
    assert script is not None, "the callplay console script is not installed in this environment"
    pipes: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    proc = subprocess.Popen([script, *LOOP], text=True, **pipes)
    _, err = _signal_after(proc, signal.SIGTERM, 0.0)
    _assert_interrupted(proc, err)


def test_sigterm_during_wait_stops_the_playback_and_exits_130() -> None:
    # (SIGINT here: tests/test_exit_codes.py)
    proc = spawn_cli(*LOOP)
    try:
        # The CLI records the playback once the embedded emulator has started it, just before it waits.
        wait_until(lambda: Ledger.default().for_call("demo-call", "demo") or proc.poll() is not None)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    _assert_interrupted(proc, err)
    assert "stopped playback" in err
    [record] = Ledger.default().for_call("demo-call", "demo")
    assert record.state == "stopped"


def test_a_signal_ignored_by_the_parent_stays_ignored() -> None:
    # A background job in a script starts with SIGINT ignored; callplay must not take it back.
    # Ignored, then exec: what the shell does (preexec_fn is unsafe in this threaded test process).
    ignore_then_exec = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.executable, [sys.executable, '-m', 'callplay', *sys.argv[1:]])"
    )
    pipes: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    proc = subprocess.Popen([sys.executable, "-c", ignore_then_exec, *LOOP], text=True, **pipes)
    try:
        wait_until(lambda: _catches_sigterm(proc.pid) or proc.poll() is not None, timeout=30)
        for _ in range(3):  # in start-up, and (likely) once the command runs
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    _assert_interrupted(proc, err)
