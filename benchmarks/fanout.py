"""Benchmark callplay's fan-out (one process, many calls) against xargs -P 16 and a serial shell loop.

    uv run python benchmarks/fanout.py [--calls 1000] [--provider acs] [--latency-ms 20] [--serial 50]
                                       [--xargs-calls N] [--rate 50] [--rate-calls 500]

Starts `callplay emulator serve --any-call` with LATENCY_MS of injected latency on every provider request (the
emulator's fault injection, /_emulator/faults), then times, in one run and on the same emulator:

  fan-out        callplay play --calls-from FILE --tts hi -o json --rate 0     (one process, --concurrency 16)
  xargs -P 16    xargs -P 16 callplay play CALL --tts hi -o json, one process per call
  serial loop    a shell loop of single `callplay play` invocations: SERIAL calls, extrapolated to CALLS
  --rate R       the fan-out at --rate R over RATE_CALLS calls, -o jsonl: the achieved rate is measured from
                 when each call's line arrived ((n - 1) / (last - first))

and prints calls/s, the ratios and the fan-out's peak RSS (the child's own ru_maxrss, from wait4), against the
targets: fan-out >= 100x the serial loop and >= 10x xargs -P 16; peak RSS < 200 MB; the achieved rate within 5 %
of R. Every run uses its own call IDs; afterwards the emulator must hold exactly one playback per call, and every
call must have succeeded (the emulator holding the load is part of what is measured).

The fan-out's speed run passes --rate 0 (no rate limit): the point is what one process does with 16 requests in
flight; the provider's default rate (its documented limit, in its facts) is what a user gets without --rate.
callplay runs as a subprocess (start-up counts), from .venv/bin/callplay, else `python -m callplay`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
TARGETS = {"vs_serial": 100.0, "vs_xargs": 10.0, "rss_mb": 200.0, "rate_error": 0.05}


def callplay_cmd() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "callplay"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "callplay"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a backgrounded script's children would ignore it


class Emulator:
    def __init__(self, workdir: Path, latency_ms: int) -> None:
        self.port, self.tls_port = free_port(), free_port()
        self.config = workdir / "emulator.toml"
        self.url = f"http://127.0.0.1:{self.port}"
        options = ["--any-call", "--port", str(self.port), "--tls-port", str(self.tls_port)]
        files = ["--write-config", str(self.config), "--state-dir", str(workdir / "emu")]
        self.proc = subprocess.Popen(
            [*callplay_cmd(), "emulator", "serve", *options, *files],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=default_sigint,
        )
        self.http = httpx.Client(timeout=60)
        deadline = time.monotonic() + 60
        while not self.config.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the emulator did not start")
            time.sleep(0.05)
        self.http.post(f"{self.url}/_emulator/faults", json={"latency_ms": latency_ms}).raise_for_status()

    def playbacks_per_call(self, prefix: str) -> Counter[str]:
        calls = self.http.get(f"{self.url}/_emulator/calls").json()["calls"]
        return Counter({c["id"]: len(c["playbacks"]) for c in calls if c["id"].startswith(prefix)})

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Run:
    name: str
    calls: int
    seconds: float
    note: str = ""
    rss_mb: float | None = None

    @property
    def per_s(self) -> float:
        return self.calls / self.seconds if self.seconds else float("inf")


def write_calls(workdir: Path, prefix: str, n: int) -> Path:
    path = workdir / f"{prefix}calls.txt"
    path.write_text("".join(f"{prefix}{i:05d}\n" for i in range(n)), encoding="utf-8")
    return path


def timed_child(
    argv: list[str],
    env: dict[str, str],
    stdout: int | None = subprocess.DEVNULL,
    stderr: int | None = subprocess.DEVNULL,
) -> tuple[float, int, float]:
    """(seconds, exit code, peak RSS in MB) of one child process, measured with wait4 (its own ru_maxrss)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, proc.returncode, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def fanout(emu: Emulator, env: dict[str, str], workdir: Path, profile: str, n: int) -> Run:
    calls = write_calls(workdir, "fan-", n)
    out = workdir / "fanout.json"
    argv = [*callplay_cmd(), "play", "--calls-from", str(calls), "--tts", "hi", "-p", profile, "-o", "json"]
    with out.open("w") as f:
        seconds, code, rss = timed_child([*argv, "--rate", "0", "--concurrency", "16"], env, stdout=f.fileno())
    results = json.loads(out.read_text())["data"]["results"]
    failed = [r for r in results if not r["ok"]]
    check_one_each(emu, "fan-", n, "fan-out")
    note = f"exit {code}, {len(results)} results, {len(failed)} failed"
    return Run("fan-out (one process)", n, seconds, note, rss)


def xargs(emu: Emulator, env: dict[str, str], workdir: Path, profile: str, n: int) -> Run:
    calls = write_calls(workdir, "xa-", n)
    one = " ".join(shlex.quote(a) for a in [*callplay_cmd(), "play"])
    rest = f"--tts hi -p {shlex.quote(profile)} -o json"
    script = f"xargs -P 16 -I CALL {one} CALL {rest} < {shlex.quote(str(calls))} > /dev/null"
    errors = workdir / "xargs.err"
    with errors.open("w") as err:
        seconds, code, _ = timed_child(["sh", "-c", script], env, stderr=err.fileno())
    check_one_each(emu, "xa-", n, "xargs")
    # What failed, if anything: the distinct error lines of the single invocations, most frequent first.
    said = Counter(line for line in errors.read_text().splitlines() if line.startswith(("error:", "hint:")))
    for line, count in said.most_common(4):
        print(f"  !! xargs: {count} x {line[:100]}", flush=True)
    return Run("xargs -P 16", n, seconds, f"exit {code}")


def serial(emu: Emulator, env: dict[str, str], workdir: Path, profile: str, n: int, total: int) -> Run:
    calls = write_calls(workdir, "ser-", n)
    one = " ".join(shlex.quote(a) for a in [*callplay_cmd(), "play"])
    rest = f"--tts hi -p {shlex.quote(profile)} -o json"
    script = f'while read -r c; do {one} "$c" {rest} > /dev/null; done < {shlex.quote(str(calls))}'
    seconds, _, _ = timed_child(["sh", "-c", script], env)
    check_one_each(emu, "ser-", n, "serial")
    # Extrapolated: a serial loop's time grows linearly with the number of calls.
    return Run("serial loop", total, seconds * total / n, f"timed {n} calls ({seconds:.1f} s), extrapolated")


def rated(emu: Emulator, env: dict[str, str], workdir: Path, profile: str, n: int, rate: float) -> tuple[Run, float]:
    calls = write_calls(workdir, "rate-", n)
    argv = [*callplay_cmd(), "play", "--calls-from", str(calls), "--tts", "hi", "-p", profile, "-o", "jsonl"]
    proc = subprocess.Popen(
        [*argv, "--rate", f"{rate:g}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    start = time.perf_counter()
    arrivals: list[float] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line).get("kind") == "call":
            arrivals.append(time.perf_counter())
    proc.wait()
    seconds = time.perf_counter() - start
    check_one_each(emu, "rate-", n, "rate")
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return Run(f"fan-out --rate {rate:g}", n, seconds, f"{len(arrivals)} call lines"), achieved


def check_one_each(emu: Emulator, prefix: str, n: int, what: str) -> None:
    counts = emu.playbacks_per_call(prefix)
    wrong = {call: c for call, c in counts.items() if c != 1}
    missing = n - len(counts)
    if wrong or missing:
        print(f"  !! {what}: {missing} calls without a playback, {len(wrong)} with more than one", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--provider", default="acs")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--serial", type=int, default=50, help="calls the serial loop times (then extrapolated)")
    parser.add_argument("--xargs-calls", type=int, default=None, help="calls for xargs -P 16 (default: --calls)")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--rate-calls", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="callplay-fanout-") as tmp:
        workdir = Path(tmp)
        emu = Emulator(workdir, args.latency_ms)
        env = {**os.environ, "CALLPLAY_CONFIG": str(emu.config), "CALLPLAY_STATE_DIR": str(workdir / "state")}
        env.pop("CALLPLAY_OUTPUT", None)
        profile = f"emulator-{args.provider}"
        try:
            print(f"{args.calls} calls, {args.provider}, {args.latency_ms} ms injected latency per request", flush=True)
            fan = fanout(emu, env, workdir, profile, args.calls)
            print(f"  fan-out done: {fan.seconds:.1f} s ({fan.note})", flush=True)
            xa = xargs(emu, env, workdir, profile, args.xargs_calls or args.calls)
            print(f"  xargs done: {xa.seconds:.1f} s", flush=True)
            ser = serial(emu, env, workdir, profile, args.serial, args.calls)
            print(f"  serial done: {ser.note}", flush=True)
            rate_run, achieved = rated(emu, env, workdir, profile, args.rate_calls, args.rate)
        finally:
            emu.close()
    report(fan, xa, ser, rate_run, achieved, args.rate)


def report(fan: Run, xa: Run, ser: Run, rate_run: Run, achieved: float, rate: float) -> None:
    print(f"\n{'run':<24} {'calls':>6} {'seconds':>9} {'calls/s':>9}  note")
    for run in (fan, xa, ser, rate_run):
        print(f"{run.name:<24} {run.calls:>6} {run.seconds:>9.2f} {run.per_s:>9.1f}  {run.note}")
    vs_serial = fan.per_s / ser.per_s
    vs_xargs = fan.per_s / xa.per_s
    rate_error = abs(achieved - rate) / rate
    rss = fan.rss_mb or 0.0
    print("\ntarget                               measured      target   met")
    rows = [
        (
            "fan-out vs serial loop",
            f"{vs_serial:.0f}x",
            f">= {TARGETS['vs_serial']:.0f}x",
            vs_serial >= TARGETS["vs_serial"],
        ),
        (
            "fan-out vs xargs -P 16",
            f"{vs_xargs:.1f}x",
            f">= {TARGETS['vs_xargs']:.0f}x",
            vs_xargs >= TARGETS["vs_xargs"],
        ),
        ("fan-out peak RSS", f"{rss:.0f} MB", f"< {TARGETS['rss_mb']:.0f} MB", rss < TARGETS["rss_mb"]),
        (
            f"achieved rate at --rate {rate:g}",
            f"{achieved:.1f}/s",
            f"within 5 % of {rate:g}",
            rate_error <= TARGETS["rate_error"],
        ),
    ]
    for name, got, want, met in rows:
        print(f"{name:<36} {got:>9}  {want:>14}   {'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
