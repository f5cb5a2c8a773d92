"""The process's entry point (the `callplay` console script, `python -m callplay`): Ctrl-C and SIGTERM from
the first instruction of callplay to the last end in exit 130, one line on stderr and no traceback.

Outside a command (start-up imports, which take a good part of a second, and teardown) nothing has been
started that would need stopping, so a signal ends the process there and then. While a command runs,
callplay.cli.main turns both signals into KeyboardInterrupt, so that the core stops what it started (a
`--wait` playback) before exiting 130; it puts this module's handler back when the command is over.

This module imports only what the interpreter has already loaded, so the handlers are in before anything
else is. callplay.cli.main stays callable on its own: the tests run it in-process, where nothing here runs.
"""

from __future__ import annotations

import os
import signal
import sys

INTERRUPTED = 130  # ExitCode.INTERRUPTED, without importing callplay.errors before the handlers are in
MESSAGE = b"error: interrupted\n"
COMPLETE = "__complete"  # the hidden first argument of a shell's Tab (callplay.complete, callplay.completions)


def main() -> int:
    """Run callplay as this process and return its exit code (the console script passes it to sys.exit)."""
    if sys.argv[1:2] == [COMPLETE]:
        return _complete(sys.argv[2:])
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by whoever started us (`&`, nohup): stays so
            signal.signal(signum, _exit_now)
    try:
        from callplay.cli import main as cli_main

        code = cli_main()
    except KeyboardInterrupt:
        # A signal in the instant cli.main's own handler was in but its try was not (entering or leaving it):
        # uncaught, Python would end the process by SIGINT (-2) instead of exiting 130.
        cli = sys.modules.get("callplay.cli")
        if cli is None or not cli._interrupt_reported():
            _write_message()
        code = INTERRUPTED
    _flush()  # so that a signal during teardown, which ends the process at once, loses nothing
    if code == INTERRUPTED:
        # An interrupted run has stopped what it started and said so: end here. Through teardown, a signal
        # handled late (after the unwinding began) can still turn the exit into death by SIGINT (-2) under
        # `python -m` (seen in about 1 run in 20 of tests/test_signals.py).
        os._exit(INTERRUPTED)
    return code


def _complete(args: list[str]) -> int:
    """Answer a Tab (callplay.complete) in a few tens of milliseconds: nothing of the CLI is imported. Ctrl-C
    ends it silently by the signal: a traceback or `error: interrupted` would land in the prompt line."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from callplay.complete import main as complete

    return complete(args)


def _write_message() -> None:
    try:  # noqa: SIM105 - contextlib is not loaded yet at start-up, and need not be
        os.write(2, MESSAGE)
    except OSError:
        pass


def _exit_now(signum: int, frame: object) -> None:
    """Exit 130 without a KeyboardInterrupt: raised into an import or into interpreter teardown (thread joins,
    atexit), it would print a traceback; with SIG_DFL, SIGTERM would end the process by the signal (143)."""
    _flush()
    try:  # noqa: SIM105 - contextlib is not loaded yet at start-up, and need not be
        os.write(2, MESSAGE)  # not print(): the main thread may be inside a write to sys.stderr right now
    except OSError:
        pass
    os._exit(INTERRUPTED)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - as above
            stream.flush()
        except (OSError, ValueError, RuntimeError):  # closed (| head), or re-entered from the handler
            pass
