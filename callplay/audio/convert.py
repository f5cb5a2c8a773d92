"""Write a copy of a prompt that the target plays: WAV, mono, the target's rate, 16-bit PCM (or mu-law).

Output per target: mono PCM16 WAV at the rate the target's facts name (`AudioFacts.convert_rate`: 16 kHz for
acs and vonage, 8 kHz for chime and signalwire).
SignalWire also plays mu-law (`--encoding ulaw`), but PCM16 is the default: it is what every provider takes,
and companding once more on the way to the call only loses quality.

The pipeline, in blocks for the input side: decode (soundfile, float32) -> zero NaN/inf -> downmix
((L+R)*0.5, the cheap form) -> resample (soxr HQ, streamed) -> remove DC -> optional silence trim ->
gain (to --peak-dbfs with --normalize; otherwise only down, to leave headroom below the `peak` rule) ->
clip to [-1, 1] (G.711 wraps around instead of clipping) -> write to a temp file in the target directory
and os.replace() it over the destination, so a reader never sees half a file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from callplay.audio.measure import active_gate, quiet_stderr_fd
from callplay.audio.probe import Probe, probe_path
from callplay.audio.report import FixResult
from callplay.audio.rules import AudioSettings
from callplay.audio.validate import CheckOptions, check_path
from callplay.providers import provider_facts

ENCODINGS = {"pcm16": "PCM_16", "ulaw": "ULAW"}  # --encoding -> libsndfile subtype; who takes which: the facts
HEADROOM_MARGIN_DB = 0.05  # land a little under the limit: PCM rounding can add a hair to the peak
TRIM_KEEP_LEAD_S = 0.1  # keep a little air so a trimmed prompt does not start or end abruptly
TRIM_KEEP_TAIL_S = 0.2
READ_FRAMES = 1 << 16
Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ConvertOptions:
    target: str
    settings: AudioSettings
    normalize: bool = False
    peak_dbfs: float | None = None  # None: the target's max_peak_dbfs minus a margin
    trim: bool = False
    encoding: str = "pcm16"

    @property
    def rate(self) -> int:
        return provider_facts(self.target).audio.convert_rate

    @property
    def ceiling_dbfs(self) -> float:
        if self.peak_dbfs is not None:
            return self.peak_dbfs
        return self.settings.for_target(self.target).max_peak_dbfs - HEADROOM_MARGIN_DB


def convert_file(src: str, dest: str, opts: ConvertOptions, display: str | None = None) -> FixResult:
    """Convert one file; a source that cannot be read is a FixResult with `error`, not an exception."""
    name = display or src
    probe = probe_path(src)
    if not probe.decodable:
        reason = probe.error or f"{probe.container} cannot be decoded"
        return FixResult(name, None, opts.target, [], None, f"cannot convert: {reason}")
    try:
        mono, actions = _decode_mono(src, probe, opts.rate)
    except (RuntimeError, ValueError, OSError) as exc:  # LibsndfileError is a RuntimeError
        return FixResult(name, None, opts.target, [], None, f"cannot decode: {exc}")
    if len(mono) == 0:
        return FixResult(name, None, opts.target, actions, None, "cannot convert: no audio samples")
    mono = _shape(mono, opts, actions)
    try:
        write_atomic(dest, mono, opts.rate, ENCODINGS[opts.encoding])
    except OSError as exc:
        return FixResult(name, None, opts.target, actions, None, f"cannot write {dest}: {exc.strerror or exc}")
    actions.append(f"-> {ENCODINGS[opts.encoding]} {opts.rate // 1000} kHz mono WAV")
    result = check_path(dest, CheckOptions([opts.target], opts.settings))
    return FixResult(name, dest, opts.target, actions, result)


def _decode_mono(src: str, probe: Probe, rate: int) -> tuple[Array, list[str]]:
    """Decode in blocks, downmix and resample as we go: memory is the output (mono, low rate), not the input."""
    import soundfile as sf
    import soxr

    parts: list[Array] = []
    with quiet_stderr_fd(), sf.SoundFile(src) as f:
        actions = _describe_input(f.samplerate, f.channels, f.subtype, rate)
        stream = soxr.ResampleStream(f.samplerate, rate, 1, dtype="float32") if f.samplerate != rate else None
        while len(block := f.read(READ_FRAMES, dtype="float32", always_2d=True)):
            mono = _downmix(np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0, copy=False))
            parts.append(stream.resample_chunk(mono) if stream else mono.copy())
        if stream:
            parts.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    out = np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)
    return out, actions


def _describe_input(in_rate: int, channels: int, subtype: str, rate: int) -> list[str]:
    actions = []
    if in_rate != rate:
        actions.append(f"resampled {in_rate / 1000:g} -> {rate / 1000:g} kHz")
    if channels != 1:
        actions.append(f"downmixed {channels} ch -> mono")
    if subtype != "PCM_16":
        actions.append(f"{subtype} -> PCM_16")
    return actions


def _downmix(x: npt.NDArray[Any]) -> Array:
    if x.shape[1] == 1:
        return np.asarray(x[:, 0])
    if x.shape[1] == 2:
        mono: Array = (x[:, 0] + x[:, 1]) * np.float32(0.5)  # 14x cheaper than x.mean(axis=1) on interleaved data
        return mono
    acc = x[:, 0].copy()
    for c in range(1, x.shape[1]):
        acc += x[:, c]
    return acc * np.float32(1.0 / x.shape[1])


def _shape(y: Array, opts: ConvertOptions, actions: list[str]) -> Array:
    mean = float(y.mean(dtype=np.float64))
    if abs(mean) > 1e-4:
        y = y - np.float32(mean)
        if abs(mean) >= 5e-4:  # a smaller offset prints as -0.000: removed, but not worth a word
            actions.append(f"removed DC {mean:+.3f}")
    if opts.trim:
        y = _trim(y, opts.rate, opts.settings.silence_threshold_db, actions)
    y = _gain(y, opts, actions)
    return np.clip(y, -1.0, 1.0, out=y)  # before writing: G.711 wraps around above 1.0


def _trim(y: Array, rate: int, threshold_db: float, actions: list[str]) -> Array:
    """Cut leading/trailing silence, judged against the file's own loudest 10 ms, keeping a little air."""
    block = rate // 100
    n = len(y) // block
    if n == 0:
        return y
    power = np.einsum("ij,ij->i", y[: n * block].reshape(n, block), y[: n * block].reshape(n, block)) / block
    active = np.flatnonzero(power >= active_gate(float(power.max()), threshold_db))
    if len(active) == 0:
        return y
    start = max(int(active[0]) * block - int(TRIM_KEEP_LEAD_S * rate), 0)
    end = min((int(active[-1]) + 1) * block + int(TRIM_KEEP_TAIL_S * rate), len(y))
    if start > 0 or end < len(y):
        actions.append(f"trimmed {start / rate:.2f} s + {(len(y) - end) / rate:.2f} s of silence")
    return y[start:end]


def _gain(y: Array, opts: ConvertOptions, actions: list[str]) -> Array:
    peak = float(max(y.max(), -y.min())) if len(y) else 0.0
    if peak <= 0.0:
        return y
    ceiling = 10 ** (opts.ceiling_dbfs / 20)
    if not opts.normalize and peak <= ceiling:
        return y
    gain = ceiling / peak
    actions.append(f"{'normalised' if opts.normalize else 'headroom'}: gain {20 * math.log10(gain):+.1f} dB")
    return y * np.float32(gain)


# ------------------------------------------------------------------------------------------------ writing


def write_atomic(dest: str, y: Array, rate: int, subtype: str) -> None:
    """Whole or not at all (callplay.fileio); in place, the file keeps its mode."""
    import soundfile as sf

    from callplay.fileio import open_output

    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    with open_output(dest) as f:
        sf.write(f, y, rate, subtype=subtype, format="WAV")


# ------------------------------------------------------------------------------------------------- many


def _convert_chunk(items: list[tuple[int, str, str, str]], opts: ConvertOptions) -> list[tuple[int, FixResult]]:
    return [(i, convert_file(src, dest, opts, display)) for i, src, dest, display in items]


def convert_many(jobs_list: list[tuple[str, str, str]], opts: ConvertOptions, jobs: int) -> list[FixResult]:
    """[(source path, destination, display name)] -> results in the same order; a process pool when many."""
    from callplay.audio.validate import _maybe_pool

    items = [(i, s, d, n) for i, (s, d, n) in enumerate(jobs_list)]
    if jobs <= 1 or len(items) < 4:
        return [r for _, r in _convert_chunk(items, opts)]
    import soundfile  # noqa: F401 - inherited by the forked workers
    import soxr  # noqa: F401

    chunks = [items[k :: jobs * 4] for k in range(jobs * 4)]
    out: dict[int, FixResult] = {}
    with _maybe_pool(jobs) as pool:
        assert pool is not None
        for fut in [pool.submit(_convert_chunk, c, opts) for c in chunks if c]:
            out.update(fut.result())
    return [out[i] for i in range(len(items))]
