"""probe.py: what a file is, from its header, agreeing with libsndfile; damaged files are findings, not crashes."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
import soundfile as sf

from callplay.audio.probe import EMPTY_FILE, probe_bytes, probe_path
from tests.audio import gen

FORMATS = [
    ("a.wav", 16000, 1, "WAV", "PCM_16", "WAV", "PCM_16", 16),
    ("b.wav", 44100, 2, "WAV", "PCM_24", "WAV", "PCM_24", 24),
    ("c.wav", 8000, 1, "WAV", "PCM_32", "WAV", "PCM_32", 32),
    ("d.wav", 8000, 1, "WAV", "PCM_U8", "WAV", "PCM_U8", 8),
    ("e.wav", 8000, 1, "WAV", "ULAW", "WAV", "ULAW", 8),
    ("f.wav", 8000, 1, "WAV", "ALAW", "WAV", "ALAW", 8),
    ("g.wav", 16000, 1, "WAV", "FLOAT", "WAV", "FLOAT", 32),
    ("h.wav", 16000, 1, "WAV", "DOUBLE", "WAV", "DOUBLE", 64),
    ("i.wav", 48000, 2, "WAVEX", "PCM_16", "WAV", "PCM_16", 16),
    ("j.wav", 8000, 1, "WAV", "GSM610", "WAV", "GSM610", None),
    ("k.wav", 8000, 1, "WAV", "IMA_ADPCM", "WAV", "IMA_ADPCM", None),
    ("l.wav", 22050, 1, "RF64", "PCM_16", "RF64", "PCM_16", 16),
    ("m.aiff", 16000, 2, "AIFF", "PCM_16", "AIFF", "PCM_16", 16),
    ("n.aiff", 8000, 1, "AIFF", "ULAW", "AIFF", "ULAW", 8),
    ("o.au", 8000, 1, "AU", "ULAW", "AU", "ULAW", 8),
    ("p.au", 16000, 1, "AU", "PCM_16", "AU", "PCM_16", 16),
    ("q.flac", 44100, 2, "FLAC", "PCM_16", "FLAC", "FLAC", 16),
    ("r.ogg", 16000, 1, "OGG", "VORBIS", "OGG", "VORBIS", None),
    ("s.mp3", 16000, 1, "MP3", "MPEG_LAYER_III", "MP3", "MPEG_LAYER_III", None),
    ("t.mp3", 44100, 2, "MP3", "MPEG_LAYER_III", "MP3", "MPEG_LAYER_III", None),
    ("u.mp3", 8000, 1, "MP3", "MPEG_LAYER_III", "MP3", "MPEG_LAYER_III", None),
]


@pytest.mark.parametrize(("name", "rate", "ch", "fmt", "sub", "container", "subtype", "bits"), FORMATS)
def test_probe_agrees_with_libsndfile(
    tmp_path: Path, name: str, rate: int, ch: int, fmt: str, sub: str, container: str, subtype: str, bits: int | None
) -> None:
    path = gen.write(tmp_path / name, rate, ch, sub, 1.5, fmt=fmt)
    p = probe_path(path)
    info = sf.info(str(path))
    assert p.error is None and not p.truncated
    assert (p.container, p.subtype, p.bits) == (container, subtype, bits)
    assert (p.sample_rate, p.channels) == (info.samplerate, info.channels)
    assert p.frames == info.frames
    assert p.size_bytes == path.stat().st_size
    assert p.extensible == (fmt in ("WAVEX", "RF64"))  # libsndfile writes RF64 with an extensible header
    assert p.duration_s == pytest.approx(info.frames / info.samplerate)


def test_probe_bytes_matches_probe_path(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "x.wav", 8000, 1, "PCM_16", 0.5)
    a, b = probe_path(path), probe_bytes(path.read_bytes(), str(path))
    assert a == b


def test_mp3_id3v2_is_detected(tmp_path: Path) -> None:
    plain = probe_path(gen.mp3(tmp_path / "plain.mp3"))
    tagged = probe_path(gen.mp3(tmp_path / "tagged.mp3", id3=True))
    assert not plain.has_id3v2 and tagged.has_id3v2
    assert tagged.frames == plain.frames == sf.info(str(tmp_path / "tagged.mp3")).frames


def test_content_decides_not_the_extension(tmp_path: Path) -> None:
    path = gen.mp3(tmp_path / "really-an-mp3.wav")
    assert probe_path(path).container == "MP3"


def _wav_bytes(tmp_path: Path) -> bytes:
    return gen.write(tmp_path / "w.wav", 16000, 1, "PCM_16", 1.0).read_bytes()


def test_truncated_wav_reports_what_is_there(tmp_path: Path) -> None:
    data = _wav_bytes(tmp_path)
    p = probe_bytes(data[: len(data) // 2 + 1], "cut.wav")
    assert p.truncated and p.error is None
    assert p.declared_frames == 16000
    assert p.frames == (len(data) // 2 + 1 - 44) // 2


def test_truncated_mp3_is_found(tmp_path: Path) -> None:
    data = gen.mp3(tmp_path / "m.mp3", seconds=2.0).read_bytes()
    p = probe_bytes(data[: len(data) * 2 // 3 + 7], "cut.mp3")
    assert p.truncated and p.error is None and p.frames < 32000


@pytest.mark.parametrize(
    ("cut", "message"),
    [(0, EMPTY_FILE), (12, "no 'fmt ' chunk"), (30, "malformed 'fmt '"), (36, "no 'data' chunk")],
)
def test_damaged_headers_are_errors_not_exceptions(tmp_path: Path, cut: int, message: str) -> None:
    p = probe_bytes(_wav_bytes(tmp_path)[:cut], "bad.wav")
    assert p.error is not None and message in p.error


def test_not_audio(tmp_path: Path) -> None:
    assert "HTML" in (probe_bytes(b"<!DOCTYPE html><html>404</html>", "x.wav").error or "")
    assert "not recognised" in (probe_bytes(os.urandom(3000) + b"x", "x.wav").error or "")
    assert "no audio" in (probe_bytes(gen.ID3V2_TAG, "x.mp3").error or "")


def test_data_size_zero_means_no_frames(tmp_path: Path) -> None:
    data = bytearray(_wav_bytes(tmp_path))
    data[40:44] = b"\0\0\0\0"
    p = probe_bytes(bytes(data), "zero.wav")
    assert p.frames == 0 == sf.info(_save(tmp_path, data)).frames
    assert any("0 bytes" in n for n in p.notes)


def test_streamed_size_field_uses_the_file_size(tmp_path: Path) -> None:
    data = bytearray(_wav_bytes(tmp_path))
    data[40:44] = struct.pack("<I", 0xFFFFFFFF)
    p = probe_bytes(bytes(data), "stream.wav")
    assert p.frames == 16000 and not p.truncated and p.notes


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    assert "cannot read" in (probe_path(tmp_path / "nope.wav").error or "")


def test_raw_gsm_by_extension(tmp_path: Path) -> None:
    path = tmp_path / "p.gsm"
    path.write_bytes(bytes([0xD0] + [0] * 32) * 50)
    p = probe_path(path)
    assert (p.container, p.subtype, p.sample_rate, p.frames) == ("GSM", "GSM610", 8000, 8000)


def _save(tmp_path: Path, data: bytes | bytearray) -> str:
    path = tmp_path / "saved.wav"
    path.write_bytes(bytes(data))
    return str(path)
