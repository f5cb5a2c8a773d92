"""Interrupt `callplay play --wait` many times per provider and count what is left playing on the call.

    uv run python benchmarks/interrupt_trials.py [--trials 50] [--provider acs ...] [--speed 1] [--seed 1]

Starts `callplay emulator serve` (real time by default: the speech estimates and the Lambda's timing are as
on a real call), then per provider runs TRIALS trials, each on a fresh call: `callplay play CALL SOURCE
--wait` as a real process, SIGINT at a random moment, and a look at the emulator's call (its admin API) once
callplay has exited. Half the trials play a 60 s WAV, half a long text-to-speech; half are interrupted as
soon as the provider has heard of the play (the request may still be in flight), half while it plays.

Vonage sends no playback events, so it has no `play --wait` (callplay refuses it, exit 4): its trials run
`callplay play` and then `callplay stop` at the same two moments instead.

A trial "left something playing" when, SETTLE seconds after callplay exited, the call still has a playback
that is not silence (a stop may take effect a moment after its request: Chime's goes through the Lambda).
callplay "said so" when its message names what keeps playing; a silent leftover is one it did not mention,
which is the bug this counts. Amazon Chime SDK cannot interrupt a Speak (the Developer Guide's list of
interruptible actions is PlayAudio, RecordAudio and Pause), so a Chime TTS trial interrupted mid-sentence
leaves that sentence playing: callplay must say so, and the table shows it.

Not part of the test run (tests/test_interrupts.py runs a few trials per provider in-process and as processes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = ("acs", "signalwire", "vonage", "chime")
LONG_TEXT = (
    "Thank you for calling. All of our agents are busy helping other callers right now. "
    "Please stay on the line and the next available agent will be with you shortly. "
) * 3  # about 480 characters: half a minute of speech
WAV_SECONDS = 60.0
STILL_PLAYING = re.compile(r"keeps playing|may keep playing")  # callplay's words for what it could not stop
NO_WAIT = ("vonage",)  # no playback events, so no --wait: play, then `callplay stop`


def callplay_cmd() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "callplay"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "callplay"]


def default_sigint() -> None:
    """In each child: Ctrl-C as in a terminal. A script run in the background (`cmd &`) ignores SIGINT, its
    children inherit that, and callplay rightly keeps a signal ignored that whoever started it ignores."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn_callplay(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """callplay as a process of its own, as a terminal would start it; its stderr is piped."""
    return subprocess.Popen(
        [*callplay_cmd(), *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wav_bytes(seconds: float, rate: int) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    buf = io.BytesIO()
    sf.write(buf, 0.2 * np.sin(2 * np.pi * 440.0 * t), rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


@dataclass
class Trial:
    provider: str
    kind: str  # wav | tts
    when: str  # early | playing
    exit_code: int
    left_playing: bool
    said_so: bool
    stderr: str


class Emulator:
    def __init__(self, workdir: Path, speed: float) -> None:
        self.port, self.tls_port = free_port(), free_port()
        self.config = workdir / "emulator.toml"
        self.url = f"http://127.0.0.1:{self.port}"
        options = ["--port", str(self.port), "--tls-port", str(self.tls_port), "--speed", str(speed)]
        files = ["--write-config", str(self.config), "--state-dir", str(workdir / "emu")]
        self.proc = subprocess.Popen(
            [*callplay_cmd(), "emulator", "serve", *options, *files],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        self.http = httpx.Client(timeout=30)
        deadline = time.monotonic() + 60
        while not self.config.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the emulator did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")
            time.sleep(0.05)

    def new_call(self) -> str:
        call_id = f"trial-{uuid.uuid4().hex[:10]}"
        self.http.post(f"{self.url}/_emulator/calls", json={"id": call_id}).raise_for_status()
        return call_id

    def call(self, call_id: str) -> dict[str, Any]:
        resp = self.http.get(f"{self.url}/_emulator/calls/{call_id}")
        resp.raise_for_status()
        return dict(resp.json())

    def put_media(self, name: str, data: bytes) -> str:
        url = f"{self.url}/_emulator/media/{name}"
        self.http.put(url, content=data, headers={"Content-Type": "audio/wav"}).raise_for_status()
        return url

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def audible(call: dict[str, Any]) -> list[dict[str, Any]]:
    """The call's playbacks still going that are not silence (Chime's stop answers with a short Pause)."""
    return [
        p
        for p in call["playbacks"]
        if p["state"] in ("created", "playing", "paused") and any(i["kind"] != "silence" for i in p["items"])
    ]


def heard_of(call: dict[str, Any]) -> bool:
    return bool(call["playbacks"] or call["log"])


def run_trial(emu: Emulator, env: dict[str, str], provider: str, kind: str, when: str, source: list[str],
              rng: random.Random, settle: float) -> Trial:  # fmt: skip
    call_id = emu.new_call()
    profile = ["-p", f"emulator-{provider}"]
    wait = [] if provider in NO_WAIT else ["--wait", "--timeout", "600"]
    proc = spawn_callplay(["play", call_id, *source, *wait, *profile], env)
    deadline = time.monotonic() + 60
    while proc.poll() is None or not wait:
        call = emu.call(call_id)
        if (when == "early" and heard_of(call)) or (when == "playing" and audible(call)):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.005)
    if when == "playing":
        time.sleep(rng.uniform(0.0, 0.5))
    if wait:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        code = proc.returncode
    else:  # `play` has returned (or is returning): stop it as a runbook would
        proc.communicate(timeout=60)
        stop = subprocess.run(
            [*callplay_cmd(), "stop", call_id, *profile], env=env, capture_output=True, text=True, timeout=60
        )
        code, err = stop.returncode, stop.stderr
    end = time.monotonic() + settle
    left = audible(emu.call(call_id))
    while left and time.monotonic() < end:
        time.sleep(0.05)
        left = audible(emu.call(call_id))
    return Trial(provider, kind, when, code, bool(left), bool(STILL_PLAYING.search(err)), err.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50, help="trials per provider")
    parser.add_argument("--provider", action="append", choices=PROVIDERS, help="only these (repeatable)")
    parser.add_argument("--speed", type=float, default=1.0, help="the emulator's simulated seconds per second")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds a stop may take to reach the call")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print every trial as JSON lines as well")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="callplay-trials-") as tmp:
        workdir = Path(tmp)
        emu = Emulator(workdir, args.speed)
        try:
            hold = workdir / "hold.wav"  # Chime's recommended 8 kHz, uploaded by callplay
            hold.write_bytes(wav_bytes(WAV_SECONDS, 8000))
            hold_url = emu.put_media("trial-hold.wav", wav_bytes(WAV_SECONDS, 16000))  # what ACS plays
            env = {**os.environ, "CALLPLAY_CONFIG": str(emu.config), "CALLPLAY_STATE_DIR": str(workdir / "state")}
            env.pop("CALLPLAY_OUTPUT", None)
            profiles = tomllib.loads(emu.config.read_text())["profiles"]
            assert all(f"emulator-{p}" in profiles for p in PROVIDERS)
            sources = {"tts": ["--tts", LONG_TEXT]}
            trials: list[Trial] = []
            for provider in args.provider or PROVIDERS:
                wav = [str(hold)] if provider == "chime" else [hold_url]
                for n in range(args.trials):
                    kind = ("wav", "tts")[n % 2]
                    when = ("early", "playing")[(n // 2) % 2]
                    source = wav if kind == "wav" else sources["tts"]
                    trial = run_trial(emu, env, provider, kind, when, source, rng, args.settle)
                    trials.append(trial)
                    if args.json:
                        print(json.dumps(trial.__dict__), flush=True)
                    else:
                        print(".", end="", flush=True, file=sys.stderr)
                print(file=sys.stderr)
        finally:
            emu.close()
    report(trials, args)
    return 0


def expected(trial: Trial) -> int:
    return 0 if trial.provider in NO_WAIT else 130


def report(trials: list[Trial], args: argparse.Namespace) -> None:
    print(f"\n{args.trials} interrupted `play --wait` trials per provider (emulator speed {args.speed:g}, "
          f"settle {args.settle:g} s)\n")  # fmt: skip
    header = f"{'provider':<11} {'source':<6} {'trials':>6} {'expected exit':>13} {'left playing':>12} {'said so':>7} "
    print(header + f"{'silent leftovers':>16}")
    for provider in dict.fromkeys(t.provider for t in trials):
        for kind in ("wav", "tts"):
            group = [t for t in trials if t.provider == provider and t.kind == kind]
            if not group:
                continue
            left = [t for t in group if t.left_playing]
            print(
                f"{provider:<11} {kind:<6} {len(group):>6} {sum(t.exit_code == expected(t) for t in group):>13} "
                f"{len(left):>12} {sum(t.said_so for t in left):>7} {sum(not t.said_so for t in left):>16}"
            )
    print("\nexpected exit: 130 (interrupted) for `play --wait`; for Vonage's `stop`, 0")
    codes = Counter(t.exit_code for t in trials if t.exit_code != expected(t))
    if codes:
        print(f"other exit codes: {dict(codes)}")
        for t in trials:
            if t.exit_code != expected(t):
                print(f"  {t.provider} {t.kind} {t.when}: {t.exit_code}: {t.stderr.splitlines()[-2:]}")
    silent = [t for t in trials if t.left_playing and not t.said_so]
    for t in silent[:10]:
        print(f"  silent leftover: {t.provider} {t.kind} {t.when}: {t.stderr.splitlines()[-2:]}")


if __name__ == "__main__":
    sys.exit(main())
