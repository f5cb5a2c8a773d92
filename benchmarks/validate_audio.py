"""Benchmark `callplay validate-audio` against soxi, ffprobe and cat on a corpus of 2,000 varied prompts.

    uv run python benchmarks/validate_audio.py [--files 2000] [--repeat 9] [--keep DIR]

Builds the corpus in a temp dir (mixed rates, channels, bit depths, mu-law/A-law, float, MP3, AIFF, a few
long files, and some corrupt, truncated and empty ones: about 350 MB), then prints wall time and files/s for:

  callplay full check      callplay validate-audio DIR --target all --format github   (one process)
  callplay --quick         the same with --quick
  soxi loop                soxi FILE, once per file, in a shell loop
  ffprobe loop             ffprobe FILE, once per file, in a shell loop
  soxi single call         soxi FILE... over every file it can read, in one process
  cat (I/O floor)          cat FILE... > /dev/null

and the ratios against the targets: full >= 5x faster than the soxi loop and within 8x of cat; --quick within
6x of the single soxi call; max RSS under 150 MB checking one 50 MB WAV. Every command runs once untimed to warm
the page cache, then --repeat rounds run every command in turn (the soxi loop too), so that a noisy patch of the
machine hits them all alike; each ratio is worked out within each round, and every figure is printed as the
median with the min and max over the rounds: one run of a benchmark on a shared machine does not reproduce,
its spread does. The ffprobe loop, which takes minutes, runs once. callplay runs as a subprocess (start-up counts),
from .venv/bin/callplay, else `callplay` on PATH, else `uv run callplay`. A peer whose tool is missing is
skipped, saying so (apt-get install -y sox libsox-fmt-all ffmpeg).

Python's bytecode cache is enabled for the callplay runs (PYTHONDONTWRITEBYTECODE is removed, the cache goes
to the temp dir via PYTHONPYCACHEPREFIX): with it disabled every run would recompile numpy, which no installed
tool does after its first run.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 350


# ---------------------------------------------------------------------------------------------- corpus


def speech_like(rate: int, seconds: float, rng: np.random.Generator, level: float = 0.2) -> np.ndarray:
    """Noise with a syllable-rate envelope and pauses: levels and silences like a spoken prompt."""
    n = max(int(rate * seconds), 1)
    t = np.arange(n, dtype=np.float32) / rate
    env = np.clip(np.sin(2 * np.pi * 3.3 * t + rng.uniform(0, 6)), 0, None) ** 2
    env *= (np.sin(2 * np.pi * 0.4 * t + rng.uniform(0, 6)) > -0.3).astype(np.float32)
    voice = np.sin(2 * np.pi * rng.uniform(110, 220) * t) + 0.3 * rng.standard_normal(n).astype(np.float32)
    return (level * env * voice).astype(np.float32)


@dataclass(frozen=True)
class Kind:
    name: str
    weight: float
    rate: int
    channels: int
    fmt: str
    subtype: str
    seconds: tuple[float, float]
    ext: str = ".wav"


KINDS = (
    Kind("pcm16-16k", 22, 16000, 1, "WAV", "PCM_16", (2, 6)),
    Kind("pcm16-8k", 14, 8000, 1, "WAV", "PCM_16", (2, 10)),
    Kind("pcm16-44k-stereo", 12, 44100, 2, "WAV", "PCM_16", (1, 2.5)),
    Kind("pcm24-48k-stereo", 5, 48000, 2, "WAV", "PCM_24", (1, 2)),
    Kind("pcm16-22k", 5, 22050, 1, "WAV", "PCM_16", (2, 6)),
    Kind("float-16k", 4, 16000, 1, "WAV", "FLOAT", (2, 5)),
    Kind("ulaw-8k", 9, 8000, 1, "WAV", "ULAW", (3, 15)),
    Kind("alaw-8k", 3, 8000, 1, "WAV", "ALAW", (3, 10)),
    Kind("u8-8k", 2, 8000, 1, "WAV", "PCM_U8", (2, 8)),
    Kind("aiff-16k", 2, 16000, 1, "AIFF", "PCM_16", (2, 6), ".aiff"),
    # MP3 is about a tenth of the files (IVR prompt sets are mostly WAV; MP3 is hold music and web exports).
    # It dominates the full check's CPU: decoding an MP3 costs about 8x reading a WAV of the same length.
    Kind("mp3-16k", 7, 16000, 1, "MP3", "MPEG_LAYER_III", (2, 10), ".mp3"),
    Kind("mp3-44k-stereo", 2, 44100, 2, "MP3", "MPEG_LAYER_III", (2, 6), ".mp3"),
    Kind("long-44k-stereo", 0.4, 44100, 2, "WAV", "PCM_16", (30, 45)),
)
BROKEN = ("empty", "random", "html", "truncated-wav", "truncated-mp3", "header-only")


def build_corpus(root: Path, count: int, seed: int = 7) -> list[Path]:
    shutil.rmtree(root, ignore_errors=True)  # --keep DIR: no stale files from an earlier corpus
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    bases = {r: speech_like(r, 75, rng) for r in {k.rate for k in KINDS}}
    weights = [k.weight for k in KINDS]
    paths: list[Path] = []
    n_broken = max(count // 100, len(BROKEN))
    for i in range(count - n_broken):
        kind = pick.choices(KINDS, weights)[0]
        paths.append(_write(root / kind.name / f"p{i:05d}{kind.ext}", kind, bases[kind.rate], pick))
    for i in range(n_broken):
        paths.append(_broken(root / "broken" / f"b{i:04d}", BROKEN[i % len(BROKEN)], pick))
    return paths


def _write(path: Path, kind: Kind, base: np.ndarray, pick: random.Random) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds = pick.uniform(*kind.seconds)
    n = int(seconds * kind.rate)
    start = pick.randrange(0, max(len(base) - n, 1))
    x = np.resize(base[start : start + n], n) * pick.uniform(0.3, 1.6)
    if kind.channels == 2:
        x = np.stack([x, x * 0.8], axis=1)
    sf.write(path, x, kind.rate, format=kind.fmt, subtype=kind.subtype)
    return path


def _broken(stem: Path, what: str, pick: random.Random) -> Path:
    stem.parent.mkdir(parents=True, exist_ok=True)
    good = speech_like(16000, 3, np.random.default_rng(pick.randrange(1 << 30)))
    if what == "empty":
        path = stem.with_suffix(".wav")
        path.write_bytes(b"")
    elif what == "random":
        path = stem.with_suffix(".wav")
        path.write_bytes(os.urandom(pick.randrange(2000, 60000)))
    elif what == "html":
        path = stem.with_suffix(".mp3")
        path.write_bytes(b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
    elif what in ("truncated-wav", "header-only"):
        path = stem.with_suffix(".wav")
        sf.write(path, good, 16000, subtype="PCM_16")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2 + 1] if what == "truncated-wav" else data[:12])
    else:
        path = stem.with_suffix(".mp3")
        sf.write(path, good, 16000, format="MP3")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 2 // 3])
    return path


def write_50mb_wav(path: Path) -> Path:
    frames = 50 * 1024 * 1024 // 4  # 44.1 kHz stereo 16-bit: 4 bytes a frame
    rng = np.random.default_rng(1)
    with sf.SoundFile(path, "w", 44100, 2, subtype="PCM_16") as f:
        block = speech_like(44100, 10, rng)
        done = 0
        while done < frames:
            n = min(len(block), frames - done)
            f.write(np.stack([block[:n], block[:n]], axis=1))
            done += n
    return path


# ------------------------------------------------------------------------------------------- measuring


def callplay_cmd() -> list[str]:
    local = ROOT / ".venv" / "bin" / "callplay"
    if local.exists():
        return [str(local)]
    found = shutil.which("callplay")
    return [found] if found else ["uv", "run", "--project", str(ROOT), "callplay"]


def child_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env.pop("CALLPLAY_CONFIG", None)
    return env


@dataclass(frozen=True)
class Timing:
    walls: list[float]  # seconds, one per round
    cpus: list[float]  # user+sys seconds of the children: unlike wall time, not affected by other load

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def timed_rounds(
    runs: dict[str, Callable[[], object] | None], repeat: int, warm: bool = True
) -> dict[str, Timing | None]:
    """Each command once to warm up (page cache, bytecode cache), then `repeat` rounds of all of them in turn:
    a slow patch of the machine (other load, a noisy neighbour) then hits every command alike instead of
    whichever ran during it. A command given as None (its tool is missing) comes back as None."""
    live = {name: run for name, run in runs.items() if run is not None}
    for run in live.values() if warm else ():
        run()
    walls: dict[str, list[float]] = {name: [] for name in live}
    cpus: dict[str, list[float]] = {name: [] for name in live}
    for _ in range(repeat):
        for name, run in live.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            run()
            walls[name].append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    out: dict[str, Timing | None] = {name: None for name in runs}
    for name in live:
        out[name] = Timing(walls[name], cpus[name])
    return out


def sh(args: list[str], env: dict[str, str] | None = None) -> Callable[[], object]:
    def go() -> object:
        return subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)

    return go


def soxi_readable(paths: list[Path]) -> list[str]:
    """soxi stops at the first file it cannot open, so its single call gets only the files it reads."""
    ok = []
    for p in paths:
        if subprocess.run(["soxi", str(p)], capture_output=True, check=False).returncode == 0:
            ok.append(str(p))
    return ok


def max_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """Max RSS of the child and everything it waited for, via a fresh wrapper process (RUSAGE_CHILDREN)."""
    code = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return int(out.stdout.strip()) / 1024


# ---------------------------------------------------------------------------------------------- report


def spread(values: list[float], digits: int = 3) -> str:
    """median [min-max]: the figure to quote, with how far one run can stray from it."""
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def line(name: str, t: Timing | None, files: int, note: str = "") -> None:
    if t is None:
        print(f"  {name:<22} {'skipped':>9}   {note}")
        return
    rate = f"{files / t.wall:8.0f} files/s" if files else " " * 16
    print(f"  {name:<22} {spread(t.walls):>23} s {rate}   cpu {t.cpu:7.3f} s  {note}")


def ratio(label: str, values: list[float] | None, op: str, target: float) -> bool:
    """A ratio worked out in each round, as median [min-max]; the target is judged on the median."""
    if values is None:
        print(f"  {label:<42} n/a (peer missing)")
        return True
    value = statistics.median(values)
    ok = value >= target if op == ">=" else value <= target
    print(f"  {label:<42} {spread(values, 2):>20}x  (target {op} {target:g}x)  {'OK' if ok else 'MISSED'}")
    return ok


def per_round(a: Timing | None, b: Timing | None) -> list[float] | None:
    """a/b within each round (both ran in it, back to back), or None when a peer is missing."""
    if a is None or b is None:
        return None
    return [x / y for x, y in zip(a.walls, b.walls, strict=True)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=9, help="rounds of the short commands (median reported)")
    ap.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="callplay-bench-")) if args.keep is None else args.keep
    try:
        return run(tmp, args.files, args.repeat)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path, count: int, repeat: int) -> int:
    corpus = tmp / "corpus"
    t = time.perf_counter()
    paths = build_corpus(corpus, count)
    size = sum(p.stat().st_size for p in paths)
    mp3s = sum(p.suffix == ".mp3" for p in paths)
    print(
        f"corpus: {len(paths)} files ({mp3s} MP3), {size / 1e6:.0f} MB in {corpus} "
        f"(built in {time.perf_counter() - t:.1f} s)"
    )
    print(
        f"cpus: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}; "
        f"{repeat} interleaved rounds after one warm-up run; figures are median [min-max] over the rounds"
    )
    names = [str(p) for p in paths]
    env = child_env(tmp / "pycache")
    cp = callplay_cmd()
    print(f"callplay: {' '.join(cp)}")
    base = [*cp, "validate-audio", str(corpus), "--target", "all", "--format", "github"]
    have_sox, have_ff = shutil.which("soxi") is not None, shutil.which("ffprobe") is not None
    readable = soxi_readable(paths) if have_sox else []
    loop = 'for f in "$@"; do {} "$f" >/dev/null 2>&1; done'
    short = {
        "startup": sh([*cp, "--version"], env),
        "full": sh(base, env),
        "quick": sh([*base, "--quick"], env),
        "soxi_one": sh(["soxi", *readable]) if have_sox else None,
        "cat": sh(["cat", *names]),
        "soxi_loop": sh(["sh", "-c", loop.format("soxi"), "sh", *names]) if have_sox else None,
    }
    res = timed_rounds(short, repeat)
    # The ffprobe loop takes minutes: one run (the corpus is already in the page cache).
    ff = "ffprobe -v error -show_format -show_streams"
    ffprobe = {"ffprobe_loop": sh(["sh", "-c", loop.format(ff), "sh", *names]) if have_ff else None}
    res.update(timed_rounds(ffprobe, 1, warm=False))
    print()
    line("callplay --version", res["startup"], 0, "start-up alone (Python, typer, callplay's CLI)")
    line("callplay full check", res["full"], len(paths))
    line("callplay --quick", res["quick"], len(paths))
    line("soxi loop", res["soxi_loop"], len(paths), "" if have_sox else "soxi not installed")
    line("ffprobe loop", res["ffprobe_loop"], len(paths), "" if have_ff else "ffprobe not installed")
    note = f"{len(readable)} files soxi can open" if have_sox else "soxi not installed"
    line("soxi single call", res["soxi_one"], len(readable) or len(paths), note)
    line("cat (I/O floor)", res["cat"], len(paths))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return targets(res, tmp, cp, env)


def targets(res: dict[str, Timing | None], tmp: Path, cp: list[str], env: dict[str, str]) -> int:
    full, quick, cat = res["full"], res["quick"], res["cat"]
    print("\ntargets (wall time, each ratio within a round; median [min-max] over the rounds):")
    ok = ratio("full check vs soxi loop (speed-up)", per_round(res["soxi_loop"], full), ">=", 5)
    ok &= ratio("full check vs cat floor (slow-down)", per_round(full, cat), "<=", 8)
    ok &= ratio("--quick vs single soxi call (slow-down)", per_round(quick, res["soxi_one"]), "<=", 6)
    big = write_50mb_wav(tmp / "big.wav")
    rss = max_rss_mb([*cp, "validate-audio", str(big), "--target", "chime", "--format", "github"], env)
    good = rss < 150
    ok &= good
    print(f"  {'max RSS checking a 50 MB WAV':<48} {rss:6.1f} MB (target < 150 MB)  {'OK' if good else 'MISSED'}")
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
