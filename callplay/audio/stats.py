"""Sample statistics of one file: the plain result type (no numpy here; measure.py computes it)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


def dbfs(linear: float) -> float:
    """Level in dB relative to full scale (1.0); -inf for digital silence."""
    return 20.0 * math.log10(linear) if linear > 0 else -math.inf


@dataclass
class SampleStats:
    """What decoding the whole file told us. Levels are in dBFS, where a full-scale square wave is 0 dBFS."""

    frames: int = 0  # frames actually decoded (the true length of a VBR MP3 without a Xing header)
    sample_rate: int = 0
    peak: float = 0.0  # linear, over every channel
    clip_level: float = 1.0  # the codec's full scale (mu-law decodes to at most 0.98, A-law 0.984)
    clipped: int = 0  # samples at or beyond clip_level
    non_finite: int = 0  # NaN or inf samples (float files), zeroed before any level is measured
    rms_dbfs: float = -math.inf  # the whole file, silence included
    active_rms_dbfs: float = -math.inf  # only the 10 ms blocks above the silence gate
    leading_silence_s: float = 0.0
    trailing_silence_s: float = 0.0
    dc_offset: float = 0.0  # the largest per-channel mean, linear
    decode_error: str | None = None

    @property
    def peak_dbfs(self) -> float:
        return dbfs(self.peak)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["peak_dbfs"] = self.peak_dbfs
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None  # JSON has no -inf
            elif isinstance(value, float):
                out[key] = round(value, 4)
        return out
