"""Benchmark a shell Tab: `callplay __complete` (profiles, call IDs, control IDs) against the full CLI start.

    uv run python benchmarks/completion.py [--runs 50] [--playbacks 10000] [--profiles 20] [--keep DIR]

Builds a state dir whose ledger holds --playbacks playbacks over 2,000 calls and 4 profiles (a busy team's
history), and a config with --profiles profiles, then prints the median and p95 wall time of:

  profiles             callplay __complete profiles               (reads the config: tomllib)
  calls                callplay __complete calls                  (distinct call IDs, newest first)
  calls of a profile   callplay __complete calls --profile p01
  controls of a call   callplay __complete controls --call ...    (active ones first)
  bash Tab             _callplay in bash, completing `callplay stop c1 -c ''` (the script's work included)
  callplay --version   the full CLI start: Python, typer and callplay's CLI

each as a process started from scratch (what a Tab costs), with each one's ratio to `callplay --version`, and
the target: p95 under 150 ms, so that a Tab feels instant. Every command runs once untimed (page cache and
bytecode cache warm), then --runs interleaved rounds run each command once in turn, so that a noisy patch of
the machine hits them all alike. callplay runs from .venv/bin/callplay, else `callplay` on PATH, else
`uv run callplay` (which adds uv's own start-up).

Python's bytecode cache is enabled for the callplay runs (PYTHONDONTWRITEBYTECODE is removed, the cache goes
to the temp dir via PYTHONPYCACHEPREFIX), as it is for an installed tool after its first run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from callplay import paths
from callplay.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 150.0
STATES = ("finished", "finished", "finished", "stopped", "failed", "playing", "paused")


def callplay_cmd() -> list[str]:
    local = ROOT / ".venv" / "bin" / "callplay"
    if local.exists():
        return [str(local)]
    found = shutil.which("callplay")
    return [found] if found else ["uv", "run", "--project", str(ROOT), "callplay"]


def build(tmp: Path, playbacks: int, profiles: int) -> tuple[Path, Path]:
    """(config file, state dir): a ledger of `playbacks` rows and a config of `profiles` profiles."""
    state = tmp / "state"
    ledger = Ledger(state / paths.LEDGER_FILE)  # the real schema and indexes
    rows = [
        (
            f"pb-{n:06d}",
            f"call-{n % 2000:05d}",
            f"p{n % 4:02d}",
            "acs",
            STATES[n % len(STATES)],
            "[]",
            1,
            None,
            f"2026-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000+00:00",
            "2026-01-01T00:00:00.000+00:00",
            None,
            "{}",
        )
        for n in range(playbacks)
    ]
    db = sqlite3.connect(ledger.path)
    with db:
        columns = "control_id, call_id, profile, provider, state, sources, loop, volume_db, created_at, updated_at"
        db.executemany(f"INSERT INTO playbacks ({columns}, last_event, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.close()  # the last connection: checkpointed, no -wal left, as callplay leaves the ledger
    config = tmp / "config.toml"
    tables = (f'[profiles.p{n:02d}]\nprovider = "acs"\nendpoint = "https://p{n}.example"\n' for n in range(profiles))
    config.write_text('default_profile = "p00"\n' + "\n".join(tables))
    return config, state


def child_env(tmp: Path, config: Path, state: Path) -> dict[str, str]:
    env = {**os.environ, "CALLPLAY_CONFIG": str(config), "CALLPLAY_STATE_DIR": str(state)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    env["PATH"] = f"{Path(callplay_cmd()[0]).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def commands(cp: list[str]) -> dict[str, list[str]]:
    script = ROOT / "completions" / "callplay.bash"
    tab = f"source {script}; COMP_WORDS=(callplay stop call-00042 -c ''); COMP_CWORD=4; _callplay"
    return {
        "profiles": [*cp, "__complete", "profiles"],
        "calls": [*cp, "__complete", "calls"],
        "calls of a profile": [*cp, "__complete", "calls", "--profile", "p01"],
        "controls of a call": [*cp, "__complete", "controls", "--call", "call-00042"],
        "bash Tab": ["bash", "--norc", "-c", tab],
        "callplay --version": [*cp, "--version"],
    }


def timed(cmds: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, list[float]]:
    for args in cmds.values():  # warm-up, and a check that each one works
        subprocess.run(args, env=env, check=True, capture_output=True)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, args in cmds.items():
            start = time.perf_counter()
            subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def report(times: dict[str, list[float]]) -> int:
    full = statistics.median(times["callplay --version"])
    print(f"\n  {'':<20} {'median':>9} {'p95':>9}   vs --version   target p95 < {TARGET_MS:g} ms")
    ok = True
    for name, values in times.items():
        med, high = statistics.median(values), p95(values)
        met = high < TARGET_MS
        verdict = "" if name == "callplay --version" else ("OK" if met else "MISSED")
        ok &= met or name == "callplay --version"
        print(f"  {name:<20} {med:6.1f} ms {high:6.1f} ms   {med / full:9.2f}x     {verdict}")
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50, help="timed rounds (median and p95 reported)")
    ap.add_argument("--playbacks", type=int, default=10_000)
    ap.add_argument("--profiles", type=int, default=20)
    ap.add_argument("--keep", type=Path, help="build the config and state here and keep them")
    args = ap.parse_args()
    if args.runs < 2:
        ap.error("--runs must be 2 or more (a p95 needs at least two)")
    tmp = Path(tempfile.mkdtemp(prefix="callplay-bench-")) if args.keep is None else args.keep
    try:
        config, state = build(tmp, args.playbacks, args.profiles)
        cp = callplay_cmd()
        print(f"ledger: {args.playbacks} playbacks of 2000 calls; config: {args.profiles} profiles; in {tmp}")
        print(f"callplay: {' '.join(cp)}")
        print(
            f"cpus: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}; "
            f"{args.runs} interleaved rounds after one warm-up run"
        )
        code = report(timed(commands(cp), child_env(tmp, config, state), args.runs))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return code
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
