"""measure.py: sample statistics on signals whose answers are known."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callplay.audio import measure as measure_mod
from callplay.audio.measure import g711_table, measure
from callplay.audio.probe import probe_path
from tests.audio import gen


def _stats(path: Path, threshold_db: float = -35.0) -> measure_mod.SampleStats:
    return measure(str(path), probe_path(path), threshold_db)


def sine(rate: int, seconds: float, amp: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "ULAW", "ALAW", "PCM_U8"])
def test_sine_levels(tmp_path: Path, subtype: str) -> None:
    st = _stats(gen.write(tmp_path / "s.wav", 8000, 1, subtype, data=sine(8000, 2, 0.5)))
    assert st.frames == 16000 and st.decode_error is None
    assert st.peak == pytest.approx(0.5, abs=0.02)
    assert st.rms_dbfs == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.3)
    assert st.active_rms_dbfs == pytest.approx(st.rms_dbfs, abs=0.3)
    assert st.clipped == 0 and st.leading_silence_s == 0 and st.trailing_silence_s < 0.02


def test_stereo_and_mp3_agree_with_a_plain_decode(tmp_path: Path) -> None:
    for path in (gen.write(tmp_path / "st.wav", 44100, 2, "PCM_16", 1.0), gen.mp3(tmp_path / "m.mp3", 44100, 2)):
        ref, _ = sf.read(str(path), dtype="float32", always_2d=True)
        st = _stats(path)
        assert st.frames == len(ref)
        assert st.peak == pytest.approx(float(np.abs(ref).max()), rel=1e-4)
        assert st.rms_dbfs == pytest.approx(10 * math.log10(float(np.mean(ref.astype(np.float64) ** 2))), abs=0.01)


def test_pcm16_clipping_counts_full_scale_samples(tmp_path: Path) -> None:
    st = _stats(gen.clipped(tmp_path / "c.wav"))
    assert st.clipped > 100 and st.clip_level == pytest.approx(32767 / 32768)


@pytest.mark.parametrize(("subtype", "level_db"), [("ULAW", -0.17), ("ALAW", -0.14)])
def test_g711_clipping_uses_the_codec_full_scale(tmp_path: Path, subtype: str, level_db: float) -> None:
    x = np.clip(sine(8000, 1, 3.0), -1, 1)
    st = _stats(gen.write(tmp_path / "g.wav", 8000, 1, subtype, data=x))
    assert 20 * math.log10(st.clip_level) == pytest.approx(level_db, abs=0.01)
    assert st.clipped > 100  # a "samples at 1.0" test would find none


def test_float_overs_and_non_finite(tmp_path: Path) -> None:
    x = sine(16000, 1, 1.2)
    x[100:110] = np.nan
    x[200] = np.inf
    st = _stats(gen.write(tmp_path / "f.wav", 16000, 1, "FLOAT", data=x))
    assert st.non_finite == 11
    assert st.clipped > 0 and st.peak == pytest.approx(1.2, abs=0.01)
    assert math.isfinite(st.rms_dbfs)


def test_silence_lead_and_tail_relative_to_the_files_level(tmp_path: Path) -> None:
    st = _stats(gen.padded(tmp_path / "p.wav", 8000, lead=2.0, tail=3.0))
    assert st.leading_silence_s == pytest.approx(2.0, abs=0.02)
    assert st.trailing_silence_s == pytest.approx(3.0, abs=0.02)
    quiet = gen.write(tmp_path / "q.wav", 8000, 1, data=np.concatenate([np.zeros(8000), sine(8000, 1, 0.003)]))
    assert _stats(quiet).leading_silence_s == pytest.approx(1.0, abs=0.02)  # -50 dBFS speech is not silence


def test_dc_offset_and_digital_silence(tmp_path: Path) -> None:
    st = _stats(gen.write(tmp_path / "dc.wav", 8000, 1, data=sine(8000, 1, 0.2) + 0.05))
    assert st.dc_offset == pytest.approx(0.05, abs=0.002)
    zero = _stats(gen.silent(tmp_path / "z.wav"))
    assert zero.peak == 0 and zero.rms_dbfs == -math.inf and zero.active_rms_dbfs == -math.inf


def test_blocks_give_the_same_answer_as_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = gen.padded(tmp_path / "long.wav", 8000, lead=1.3, tail=0.7)
    whole = _stats(path)
    monkeypatch.setattr(measure_mod, "READ_SAMPLES", 7 * 80)  # many small reads of 7 blocks
    assert _stats(path) == whole


def test_g711_tables_match_libsndfile() -> None:
    for subtype in ("ULAW", "ALAW"):
        ref, _ = sf.read(
            io.BytesIO(bytes(range(256))), dtype="int16", format="RAW", subtype=subtype, samplerate=8000, channels=1
        )
        assert np.array_equal(ref, g711_table(subtype))


def test_file_object_source(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "x.wav", 16000, 1, "PCM_16", 0.5)
    with open(path, "rb") as f:
        assert measure(f, probe_path(path)) == _stats(path)


def test_undecodable_data_is_a_decode_error(tmp_path: Path) -> None:
    path = gen.mp3(tmp_path / "m.mp3")
    probe = probe_path(path)
    path.write_bytes(b"\x00" * 100)
    assert measure(str(path), probe).decode_error
