"""Test corpus generation: small files with known answers, written with soundfile/numpy into tmp_path."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

ID3V2_TAG = b"ID3\x03\x00\x00" + bytes([0, 0, 0, 21]) + b"TIT2" + struct.pack(">I", 11) + b"\x00\x00\x00Hello IVR!"


def speech(rate: int, seconds: float, level: float = 0.25, seed: int = 1) -> np.ndarray:
    """A voiced tone under a syllable envelope: active-speech RMS around -20 dBFS at level 0.25."""
    n = max(int(rate * seconds), 1)
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 3 * t)
    x = np.sin(2 * np.pi * 220 * t) + 0.2 * rng.standard_normal(n)
    return (level * env * x / 1.2).astype(np.float32)


def write(
    path: Path,
    rate: int = 16000,
    channels: int = 1,
    subtype: str = "PCM_16",
    seconds: float = 1.0,
    fmt: str | None = None,
    data: np.ndarray | None = None,
    level: float = 0.25,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = speech(rate, seconds, level) if data is None else data
    if channels > 1 and x.ndim == 1:
        x = np.stack([x * (1 - 0.1 * c) for c in range(channels)], axis=1)
    sf.write(path, x, rate, subtype=subtype, format=fmt)
    return path


def mp3(path: Path, rate: int = 16000, channels: int = 1, seconds: float = 1.0, id3: bool = False) -> Path:
    write(path, rate, channels, "MPEG_LAYER_III", seconds, fmt="MP3")
    if id3:
        path.write_bytes(ID3V2_TAG + path.read_bytes())
    return path


def clipped(path: Path, rate: int = 16000, seconds: float = 1.0) -> Path:
    x = np.clip(speech(rate, seconds, level=1.0) * 3.0, -1.0, 1.0)
    return write(path, rate, 1, "PCM_16", data=x)


def truncated(path: Path, rate: int = 16000, seconds: float = 1.0) -> Path:
    write(path, rate, 1, "PCM_16", seconds)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 1])  # cut mid-sample too
    return path


def silent(path: Path, rate: int = 8000, seconds: float = 1.0) -> Path:
    return write(path, rate, 1, "PCM_16", data=np.zeros(int(rate * seconds), np.float32))


def padded(path: Path, rate: int = 8000, lead: float = 2.0, tail: float = 3.0) -> Path:
    x = np.concatenate([np.zeros(int(rate * lead)), speech(rate, 1.0), np.zeros(int(rate * tail))])
    return write(path, rate, 1, "PCM_16", data=x.astype(np.float32))
