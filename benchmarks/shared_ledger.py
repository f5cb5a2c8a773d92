"""Many callplay processes on one PostgreSQL ledger: 16 processes x 100 plays and stops (issue 15's acceptance).

    uv run python benchmarks/shared_ledger.py [--processes 16] [--plays 100] [--provider signalwire]

Starts `callplay emulator serve --any-call` and a throwaway PostgreSQL cluster (tests/pgcluster.py; or uses
CALLPLAY_STATE_URL when set), then runs PROCESSES processes at once, each on a call of its own, each doing PLAYS
times `callplay play CALL --tts ...` then `callplay stop CALL --control-id ID` (callplay.cli.main in the
process: a whole command each time, config, SDK client, ledger and all). Prints the time, the commands per
second, and checks: every command exit 0; the ledger holds exactly one row per play, none lost, none twice,
each ended; and the emulator has nothing left playing. Exit 1 when a check fails.

tests/test_state.py runs the same with 16 x 5 (CALLPLAY_TEST_PLAYS_EACH to change it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def worker(args: tuple[dict[str, str], str, str, int]) -> tuple[list[str], int]:
    """PLAYS plays and stops on one call: (control IDs, failed commands)."""
    env, profile, call_id, plays = args
    os.environ.clear()
    os.environ.update(env)
    from callplay.cli import main
    from callplay.ledger import Ledger

    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (this process's stdout, for its whole short life)
    control_ids, failed = [], 0
    for _ in range(plays):
        failed += main(["play", call_id, "--tts", "a prompt long enough to be stopped", "-p", profile]) != 0
        record = Ledger.default().last_for_call(call_id, profile)
        if record is None:
            failed += 1
            continue
        control_ids.append(record.control_id)
        failed += main(["stop", call_id, "-p", profile, "--control-id", record.control_id]) != 0
    return control_ids, failed


def start_emulator(folder: Path) -> tuple[subprocess.Popen[str], str, Path]:
    config = folder / "emulator.toml"
    serve = ["emulator", "serve", "--any-call", "--port", "0", "--tls-port", "0", "--write-config", str(config)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "callplay", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CALLPLAY_STATE_DIR": str(folder / "emulator-state")},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().startswith("http "):
            return proc, line.split()[1], config
    raise SystemExit("the emulator did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--plays", type=int, default=100)
    parser.add_argument("--provider", default="signalwire", choices=["acs", "signalwire", "vonage", "chime"])
    opts = parser.parse_args()
    profile = f"emulator-{opts.provider}"
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="callplay-shared-")))
        url = os.environ.get("CALLPLAY_STATE_URL")
        if not url:
            from tests.pgcluster import throwaway_cluster

            url = stack.enter_context(throwaway_cluster()).new_database()
        emulator, http_url, config = start_emulator(folder)
        stack.callback(emulator.terminate)
        env = {**os.environ, "CALLPLAY_STATE_URL": url, "CALLPLAY_CONFIG": str(config)}
        env["CALLPLAY_STATE_DIR"] = str(folder / "state")
        run = f"{int(time.time())}"
        calls = [f"bench-{run}-{n:02d}" for n in range(opts.processes)]
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["callplay.cli", "callplay.cli.play", "callplay.cli.control"])
        started = time.monotonic()
        with context.Pool(opts.processes) as pool:
            results = pool.map(worker, [(env, profile, call, opts.plays) for call in calls])
        elapsed = time.monotonic() - started
        return report(opts, url, http_url, calls, results, elapsed)
    return 0


def report(
    opts: Any, url: str, http_url: str, calls: list[str], results: list[tuple[list[str], int]], elapsed: float
) -> int:
    from callplay.ledger import Ledger

    os.environ["CALLPLAY_STATE_URL"] = url
    played = [cid for ids, _ in results for cid in ids]
    failed = sum(f for _, f in results)
    expected = opts.processes * opts.plays
    rows = Ledger.at(url).playbacks(limit=10 * expected + 10)
    ids = [r.control_id for r in rows]
    states: dict[str, int] = {}
    for r in rows:
        states[r.state] = states.get(r.state, 0) + 1
    left = 0
    for call in calls:
        answer = httpx.get(f"{http_url}/_emulator/calls/{call}", timeout=30).json()
        left += sum(p["state"] in ("created", "playing", "paused") for p in answer.get("playbacks", []))
    print(f"{opts.processes} processes x {opts.plays} plays and stops ({opts.provider}) on PostgreSQL")
    print(f"  time            {elapsed:.1f} s, {2 * expected / elapsed:.1f} commands/s")
    print(f"  failed commands {failed}")
    print(f"  ledger rows     {len(rows)} for {expected} plays; {len(ids) - len(set(ids))} twice")
    print(f"  lost            {len(set(played) - set(ids))}; unknown {len(set(ids) - set(played))}")
    print(f"  states          {json.dumps(states, sort_keys=True)}")
    print(f"  still playing   {left} on the emulator")
    ok = failed == 0 and sorted(ids) == sorted(played) and len(played) == expected and left == 0
    ok = ok and set(states) <= {"stopped", "canceled", "finished"}
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
