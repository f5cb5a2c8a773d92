"""Decode a file in blocks and measure its samples (numpy; imported only by the full pass and convert).

Speed: the common telephony encodings (PCM 8/16/24/32, float, mu-law, A-law in WAV, AIFF or AU) are read
straight from the data chunk the probe located, as int16 (G.711 through a 256-entry table): libsndfile's
int-to-float conversion costs 6x more than the read itself. Everything else (MP3, ADPCM, GSM, FLAC, OGG) is
decoded by soundfile into float32. Per block we take max/min (peak), the per-channel sums (DC: one
matrix-vector product) and the energy of each 10 ms block (one einsum), so no float64 copy of the signal is
ever made, and memory stays at a few reused block buffers whatever the file size.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from callplay.audio.probe import Probe
from callplay.audio.stats import SampleStats

READ_SAMPLES = 1 << 17  # samples per read: a block and its float copy stay in cache, few Python round trips
SILENCE_FLOOR_DB = -70.0  # a block is never "active" below this, however quiet the file
Array = npt.NDArray[Any]

# Raw layouts we decode ourselves: subtype -> (bytes per sample, offset of the top 16 bits in a sample).
_RAW_INT = {"PCM_16": (2, 0), "PCM_24": (3, 1), "PCM_32": (4, 2)}
_RAW_CONTAINERS = frozenset({"WAV", "RF64", "AIFF", "AU"})


def _ulaw_table() -> Array:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 7, u & 0x0F
    mag = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


def _alaw_table() -> Array:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg, t = (a & 0x70) >> 4, (a & 0x0F) << 4
    mag = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, mag, -mag).astype(np.int16)


_TABLES: dict[str, Array] = {}


def g711_table(subtype: str) -> Array:
    if subtype not in _TABLES:
        _TABLES[subtype] = _ulaw_table() if subtype == "ULAW" else _alaw_table()
    return _TABLES[subtype]


# Full scale per codec, in the int16 domain: a decoded mu-law sample never exceeds 32124 (-0.17 dBFS) and
# A-law 32256 (-0.14 dBFS), so a "sample at 32767" clipping test would never fire on them.
_INT_FULL_SCALE = {"ULAW": 32124, "ALAW": 32256, "PCM_U8": 32512, "PCM_S8": 32512}


# ------------------------------------------------------------------------------------------- stderr guard

_fd2_lock = threading.Lock()
_fd2_depth = 0
_fd2_saved = -1


@contextmanager
def quiet_stderr_fd() -> Iterator[None]:
    """libmpg123 writes warnings straight to file descriptor 2; hide them while soundfile decodes."""
    global _fd2_depth, _fd2_saved
    with _fd2_lock:
        if _fd2_depth == 0:
            _fd2_saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _fd2_depth += 1
    try:
        yield
    finally:
        with _fd2_lock:
            _fd2_depth -= 1
            if _fd2_depth == 0:
                os.dup2(_fd2_saved, 2)
                os.close(_fd2_saved)


# ------------------------------------------------------------------------------------------------ readers


def raw_layout(probe: Probe) -> str | None:
    """The numpy dtype string for reading this file's data chunk directly, or None to go through soundfile."""
    if probe.container not in _RAW_CONTAINERS or probe.data_offset is None:
        return None
    endian = ">" if probe.big_endian else "<"
    if probe.subtype in _RAW_INT or probe.subtype in ("ULAW", "ALAW", "PCM_U8", "PCM_S8"):
        return "int"
    if probe.subtype == "FLOAT":
        return endian + "f4"
    if probe.subtype == "DOUBLE":
        return endian + "f8"
    return None


def _raw_to_int16(buf: bytes | memoryview, probe: Probe) -> Array:
    """Bytes of whole frames -> int16 samples (the top 16 bits for 24/32-bit, like libsndfile's int16 read)."""
    sub = probe.subtype
    if sub in ("ULAW", "ALAW"):
        return np.take(g711_table(sub), np.frombuffer(buf, np.uint8))  # 2.5x faster than table[codes]
    if sub == "PCM_U8":
        return ((np.frombuffer(buf, np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if sub == "PCM_S8":
        return np.frombuffer(buf, np.int8).astype(np.int16) << 8
    width, top = _RAW_INT[sub]
    dtype = np.dtype(">i2" if probe.big_endian else "<i2")
    if width == 2:
        return np.frombuffer(buf, dtype)
    if probe.big_endian:
        top = 0  # the most significant bytes come first
    n = len(buf) // width
    return np.ndarray((n,), dtype=dtype, buffer=buf, offset=top, strides=(width,))


class _Buffers:
    """Per-process scratch buffers reused from file to file: fresh multi-megabyte allocations per file cost
    page faults that show up at thousands of files."""

    raw = bytearray(0)
    floats: Array = np.empty(0, np.float32)
    decoded: Array = np.empty(0, np.float32)
    unit: Array = np.empty(0, np.float32)

    @classmethod
    def bytes_view(cls, n: int) -> memoryview:
        if len(cls.raw) < n:
            cls.raw = bytearray(max(n, 2 * len(cls.raw)))
        return memoryview(cls.raw)[:n]

    @classmethod
    def float_view(cls, n: int) -> Array:
        if len(cls.floats) < n:
            cls.floats = np.empty(max(n, 2 * len(cls.floats)), np.float32)
        return cls.floats[:n]

    @classmethod
    def ones(cls, n: int) -> Array:
        if len(cls.unit) < n:
            cls.unit = np.ones(max(n, 2 * len(cls.unit)), np.float32)
        return cls.unit[:n]

    @classmethod
    def decode_view(cls, frames: int, channels: int) -> Array:
        if len(cls.decoded) < frames * channels:
            cls.decoded = np.empty(frames * channels, np.float32)
        return cls.decoded[: frames * channels].reshape(frames, channels)


def _raw_blocks(f: IO[bytes], probe: Probe, frames_per_read: int) -> Iterator[Array]:
    layout = raw_layout(probe)
    assert layout is not None and probe.data_offset is not None
    ch = probe.channels
    width = max((probe.bits or 8) // 8, 1)
    f.seek(probe.data_offset)
    left = probe.frames
    while left > 0:
        want = min(left, frames_per_read) * ch * width
        view = _Buffers.bytes_view(want)
        got = f.readinto(view) or 0  # type: ignore[attr-defined]
        n = got // (ch * width)
        if n == 0:
            return
        buf = view[: n * ch * width]
        data = _raw_to_int16(buf, probe) if layout == "int" else np.frombuffer(buf, layout).astype(np.float32)
        yield data.reshape(n, ch)
        left -= n


# ------------------------------------------------------------------------------------------- accumulator


class _Acc:
    """Running statistics over blocks of shape (frames, channels), int16 or float32.

    Energies stay raw (sums of squares per 10 ms block, in the block's own units) and are scaled only as the
    few scalars derived from them at the end.
    """

    def __init__(self, probe: Probe, rate: int, channels: int, is_int: bool, threshold_db: float) -> None:
        self.rate, self.channels, self.is_int, self.threshold_db = rate, channels, is_int, threshold_db
        self.block = max(rate // 100, 1)  # 10 ms
        self.scale = 1.0 / 32768.0 if is_int else 1.0
        full = _INT_FULL_SCALE.get(probe.subtype, 32767) if is_int else 1.0
        if not is_int and probe.subtype not in ("FLOAT", "DOUBLE"):
            full = 32767 / 32768  # lossy codecs decode to float that may overshoot; full scale as PCM16
        self.clip_raw = full
        self.frames = self.clipped = self.non_finite = 0
        self.hi = self.lo = 0.0
        self.sums = [0.0] * channels
        self.energies: list[Array] = []
        self.tail = 0.0  # energy of the last, partial block and its length
        self.tail_frames = 0

    def add(self, x: Array) -> None:
        hi, lo = float(x.max()), float(x.min())
        if not (math.isfinite(hi) and math.isfinite(lo)):  # float data only: NaN/inf poison max and min
            x = self._finite(x)
            hi, lo = float(x.max()), float(x.min())
        self.hi, self.lo = max(self.hi, hi), min(self.lo, lo)
        if hi >= self.clip_raw or -lo >= self.clip_raw:
            self.clipped += int(np.count_nonzero(x >= self.clip_raw)) + int(np.count_nonzero(x <= -self.clip_raw))
        if self.is_int:
            xf = _Buffers.float_view(x.size).reshape(x.shape)
            xf[...] = x  # int16 -> float32 into a reused buffer
        else:
            xf = x
        self.frames += len(xf)
        # Per-channel sums as one matrix-vector product: sum(axis=0) on interleaved data is 40x slower.
        for c, total in enumerate(_Buffers.ones(len(xf)) @ xf):
            self.sums[c] += float(total)
        self._energy(xf)

    def _finite(self, x: Array) -> Array:
        self.non_finite += x.size - int(np.count_nonzero(np.isfinite(x)))
        return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)

    def _energy(self, xf: Array) -> None:
        full = len(xf) // self.block
        if full:
            xr = xf[: full * self.block].reshape(full, self.block * self.channels)
            self.energies.append(np.einsum("ij,ij->i", xr, xr))
        if len(xf) > full * self.block:  # only the last read is partial: reads are multiples of the block
            rest = xf[full * self.block :]
            self.tail, self.tail_frames = float(np.einsum("ij,ij->", rest, rest)), len(rest)

    def finish(self) -> SampleStats:
        st = SampleStats(frames=self.frames, sample_rate=self.rate)
        if self.frames == 0:
            return st
        st.peak = max(self.hi, -self.lo, 0.0) * self.scale
        st.clip_level = float(self.clip_raw) * self.scale
        st.clipped, st.non_finite = self.clipped, self.non_finite
        st.dc_offset = max(abs(s) for s in self.sums) / self.frames * self.scale
        self._levels(st)
        return st

    def _levels(self, st: SampleStats) -> None:
        energy = self.energies[0] if len(self.energies) == 1 else np.concatenate(self.energies or [np.zeros(0)])
        if self.tail_frames:  # as if the partial block were a whole one
            energy = np.concatenate((energy, np.array([self.tail * self.block / self.tail_frames], np.float32)))
        to_power = self.scale * self.scale / (self.block * self.channels)  # block energy -> mean square
        total = float(energy[: len(energy) - bool(self.tail_frames)].sum(dtype=np.float64)) + self.tail
        st.rms_dbfs = _db10(total * self.scale * self.scale / (self.frames * self.channels))
        loudest = float(energy.max()) if len(energy) else 0.0
        gate = active_gate(loudest * to_power, self.threshold_db) / to_power
        active = np.flatnonzero(energy >= gate) if loudest > 0 else energy[:0]
        if len(active) == 0:
            st.leading_silence_s = st.trailing_silence_s = self.frames / self.rate
            return
        st.active_rms_dbfs = _db10(float(energy[active].sum(dtype=np.float64)) / len(active) * to_power)
        st.leading_silence_s = int(active[0]) * self.block / self.rate
        st.trailing_silence_s = max(self.frames - (int(active[-1]) + 1) * self.block, 0) / self.rate


def active_gate(loudest_power: float, threshold_db: float) -> float:
    """The power a 10 ms block must reach to count as sound: relative to the file's loudest block, so a
    quiet prompt is not taken for silence, and never below SILENCE_FLOOR_DB."""
    return max(loudest_power * 10 ** (threshold_db / 10), 10 ** (SILENCE_FLOOR_DB / 10))


def _db10(power: float) -> float:
    return 10 * math.log10(power) if power > 0 else -math.inf


# ------------------------------------------------------------------------------------------------- entry


def measure(
    src: str | IO[bytes], probe: Probe, silence_threshold_db: float = -35.0, path: str | None = None
) -> SampleStats:
    """Decode and measure; never raises on bad data. `src` is a local path or a seekable binary file object
    (already open: PCM is read from it directly); `path`, when known, lets soundfile use native file I/O."""
    try:
        if path is not None and raw_layout(probe) is None:
            src = path
        return _measure(src, probe, silence_threshold_db)
    except (RuntimeError, ValueError, OSError, TypeError) as exc:  # LibsndfileError is a RuntimeError
        return SampleStats(sample_rate=probe.sample_rate, decode_error=_decode_message(exc))


def _decode_message(exc: Exception) -> str:
    text = str(exc).strip()
    if "Error opening" in text and ":" in text:
        text = text.split(":", 2)[-1].strip()
    return text or exc.__class__.__name__


def _frames_per_read(rate: int, channels: int) -> int:
    """Whole 10 ms blocks, about READ_SAMPLES samples: only the last read of a file has a partial block."""
    block = max(rate // 100, 1)
    return max(READ_SAMPLES // (block * max(channels, 1)), 1) * block


def _measure(src: str | IO[bytes], probe: Probe, threshold_db: float) -> SampleStats:
    layout = raw_layout(probe)
    if layout is None:
        return _measure_sf(src, probe, threshold_db)
    acc = _Acc(probe, probe.sample_rate, probe.channels, layout == "int", threshold_db)
    frames_per_read = _frames_per_read(probe.sample_rate, probe.channels)
    if isinstance(src, str):
        with open(src, "rb", buffering=0) as f:
            for block in _raw_blocks(f, probe, frames_per_read):
                acc.add(block)
    else:
        for block in _raw_blocks(src, probe, frames_per_read):
            acc.add(block)
    return acc.finish()


def _measure_sf(src: str | IO[bytes], probe: Probe, threshold_db: float) -> SampleStats:
    """Decode with soundfile until a read returns nothing: header frame counts of MP3s are estimates."""
    import soundfile as sf

    if not isinstance(src, str):
        src.seek(0)
    with quiet_stderr_fd(), sf.SoundFile(src) as snd:
        acc = _Acc(probe, snd.samplerate, snd.channels, False, threshold_db)
        frames_per_read = _frames_per_read(snd.samplerate, snd.channels)
        buf = _Buffers.decode_view(frames_per_read, snd.channels)
        while len(got := snd.read(frames_per_read, dtype="float32", out=buf)):
            acc.add(got)
    return acc.finish()
