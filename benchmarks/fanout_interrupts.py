"""Interrupt `callplay loop --calls-from FILE --wait` on many calls, many times, and count what is left playing.

    uv run python benchmarks/fanout_interrupts.py [--trials 40] [--calls 25] [--provider signalwire ...]

Starts `callplay emulator serve` (as benchmarks/interrupt_trials.py does, whose helpers this reuses), then per
provider runs TRIALS trials, each on CALLS fresh calls: `callplay loop --calls-from calls.txt SOURCE --wait
--rate 0` as a real process, then SIGINT or SIGTERM (alternately) at one of four moments:

- `first`: as soon as the emulator has heard of the first play (most requests not sent yet);
- `sending`: a random moment up to 0.3 s later (requests in flight);
- `all-sent`: as soon as callplay's ledger has every call's playback (polled on the ledger, which is quicker
  than asking the emulator for each call: the run is between its requests and its wait, the moment a signal
  raised in the pool's shutdown used to leave every loop going);
- `waiting`: a random moment up to 0.5 s after that.

A trial "left something playing" when, SETTLE seconds after callplay exited, one of its calls still has a
playback that is not silence. Every trial must exit 130 with one `error:` line that says what the interrupt did
("interrupted: 25 playbacks stopped", "... 20 of 25 calls not sent"), and leave nothing playing.

Not part of the test run (tests/test_fanout_cli.py interrupts one run per signal).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from interrupt_trials import LONG_TEXT, Emulator, audible, heard_of, spawn_callplay, wav_bytes

from callplay.ledger import Ledger
from callplay.paths import LEDGER_FILE

PROVIDERS = ("acs", "signalwire", "chime")  # Vonage sends no playback events, so it has no --wait
MOMENTS = ("first", "sending", "all-sent", "waiting")
SIGNALS = (signal.SIGINT, signal.SIGTERM)
SUMMARY = re.compile(r"error: interrupted: (\d+ playbacks? stopped|\d+ of \d+ calls not sent)")  # what it did


@dataclass
class Trial:
    provider: str
    moment: str
    signal: str
    exit_code: int
    left_playing: int  # calls with a playback still going
    said: bool  # the error line says what the interrupt did
    stderr: str


def wait_for(moment: str, emu: Emulator, calls: list[str], proc: subprocess.Popen[str], rng: random.Random,
             ledger: Path) -> None:  # fmt: skip
    """Return at `moment` of the run (or when callplay has exited, or after 60 s)."""
    deadline = time.monotonic() + 60
    want_all = moment in ("all-sent", "waiting")
    while proc.poll() is None and time.monotonic() < deadline:
        if want_all and ledger.exists() and recorded(ledger) >= len(calls):
            break
        if not want_all and heard_of(emu.call(calls[0])):
            break
        time.sleep(0.002)
    if moment == "sending":
        time.sleep(rng.uniform(0.0, 0.3))
    elif moment == "waiting":
        time.sleep(rng.uniform(0.0, 0.5))


def recorded(ledger: Path) -> int:
    """How many playbacks not yet ended callplay's ledger at `ledger` holds."""
    try:
        return len(Ledger(ledger, migrate=False).playbacks(active=True, limit=10_000))
    except Exception:  # the run has not made its tables yet
        return 0


def run_trial(emu: Emulator, env: dict[str, str], workdir: Path, provider: str, source: list[str], n: int,
              calls_per_trial: int, rng: random.Random, settle: float) -> Trial:  # fmt: skip
    moment, signum = MOMENTS[n % len(MOMENTS)], SIGNALS[(n // len(MOMENTS)) % len(SIGNALS)]
    calls = [emu.new_call() for _ in range(calls_per_trial)]
    state = workdir / f"state-{provider}-{n}"  # a ledger of the trial's own
    env = {**env, "CALLPLAY_STATE_DIR": str(state)}
    calls_file = workdir / f"calls-{provider}-{n}.txt"
    calls_file.write_text("\n".join(calls) + "\n")
    argv = ["loop", "--calls-from", str(calls_file), *source, "--wait", "--rate", "0", "-p", f"emulator-{provider}"]
    proc = spawn_callplay(argv, env)
    wait_for(moment, emu, calls, proc, rng, state / LEDGER_FILE)
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    end = time.monotonic() + settle
    left = [c for c in calls if audible(emu.call(c))]
    while left and time.monotonic() < end:
        time.sleep(0.1)
        left = [c for c in left if audible(emu.call(c))]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    named = len(errors) == 1 and SUMMARY.match(errors[0]) is not None
    return Trial(provider, moment, signal.Signals(signum).name, proc.returncode, len(left), named, err.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40, help="trials per provider")
    parser.add_argument("--calls", type=int, default=25, help="calls per trial")
    parser.add_argument("--provider", action="append", choices=PROVIDERS, help="only these (repeatable)")
    parser.add_argument("--speed", type=float, default=1.0, help="the emulator's simulated seconds per second")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds a stop may take to reach the call")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    trials: list[Trial] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="callplay-fanout-trials-") as tmp:
        workdir = Path(tmp)
        emu = Emulator(workdir, args.speed)
        try:
            hold = workdir / "hold.wav"  # Chime's 8 kHz WAV; a looped Speak could not be stopped mid-sentence
            hold.write_bytes(wav_bytes(60.0, 8000))
            env = {**os.environ, "CALLPLAY_CONFIG": str(emu.config), "CALLPLAY_STATE_DIR": str(workdir / "state")}
            env.pop("CALLPLAY_OUTPUT", None)
            for provider in args.provider or ("signalwire",):
                # Chime loops at most 100 times (a loop "until stopped" is refused there, exit 4).
                source = [str(hold), "--times", "100"] if provider == "chime" else ["--tts", LONG_TEXT]
                for n in range(args.trials):
                    trials.append(run_trial(emu, env, workdir, provider, source, n, args.calls, rng, args.settle))
                    print(".", end="", flush=True, file=sys.stderr)
                print(file=sys.stderr)
        finally:
            emu.close()
    report(trials, args, time.monotonic() - started)
    return 0 if all(good(t) for t in trials) else 1


def good(t: Trial) -> bool:
    return t.exit_code == 130 and t.left_playing == 0 and t.said


def report(trials: list[Trial], args: argparse.Namespace, elapsed: float) -> None:
    print(f"\n{args.trials} interrupted `loop --calls-from --wait` runs per provider, {args.calls} calls each "
          f"(emulator speed {args.speed:g}, settle {args.settle:g} s, {elapsed:.0f} s)\n")  # fmt: skip
    print(f"{'provider':<11} {'moment':<9} {'trials':>6} {'exit 130':>8} {'said so':>7} {'left playing':>12}")
    for provider in dict.fromkeys(t.provider for t in trials):
        for moment in MOMENTS:
            group = [t for t in trials if t.provider == provider and t.moment == moment]
            if group:
                print(
                    f"{provider:<11} {moment:<9} {len(group):>6} {sum(t.exit_code == 130 for t in group):>8} "
                    f"{sum(t.said for t in group):>7} {sum(t.left_playing for t in group):>12}"
                )
    print("\nleft playing: calls (summed over the trials) with a playback still going after callplay exited")
    codes = Counter(t.exit_code for t in trials if t.exit_code != 130)
    if codes:
        print(f"other exit codes: {dict(codes)}")
    for t in [t for t in trials if not good(t)][:10]:
        print(f"  {t.provider} {t.moment} {t.signal}: exit {t.exit_code}, {t.left_playing} left: {t.stderr[-300:]}")


if __name__ == "__main__":
    sys.exit(main())
