"""convert: every target's copy passes validate-audio for that target; writes are atomic; sources are safe."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.audio import gen
from tests.audio.conftest import Run

Cp = Callable[..., Run]
TARGETS = ["acs", "signalwire", "vonage", "chime"]
OUTPUT_RATE = {"acs": 16000, "vonage": 16000, "chime": 8000, "signalwire": 8000}  # what each target is sent


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    gen.write(d / "stereo44.wav", 44100, 2)
    gen.write(d / "pcm24.wav", 48000, 1, "PCM_24")
    gen.write(d / "ulaw8k.wav", 8000, 1, "ULAW")
    gen.write(d / "float.wav", 16000, 1, "FLOAT", data=np.clip(gen.speech(16000, 1.0, 1.0) * 2, -1.3, 1.3))
    gen.write(d / "sixch.wav", 16000, 6)
    gen.write(d / "menu.aiff", 22050, 1, fmt="AIFF")
    gen.write(d / "dc.wav", 8000, data=gen.speech(8000, 1.0) + 0.05)
    gen.mp3(d / "noid3.mp3", 44100, 2)
    gen.clipped(d / "clipped.wav", 44100)
    gen.truncated(d / "cut.wav", 22050)
    return d


@pytest.mark.parametrize("target", TARGETS)
def test_round_trip_passes_for_every_target(cp: Cp, sources: Path, tmp_path: Path, target: str) -> None:
    out = tmp_path / f"out-{target}"
    res = cp("convert", sources, "--target", target, "--out", out, "-o", "json")
    assert res.exit_code == 0, res.stdout + res.stderr
    written = sorted(out.glob("*.wav"))
    assert len(written) == 10
    for path in written:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (OUTPUT_RATE[target], 1, "PCM_16", "WAV")
    check = cp("validate-audio", out, "--target", target, "-o", "json")
    assert check.exit_code == 0, check.stdout
    assert all(f["verdict"][target] in ("ok", "warn") for f in check.json()["data"]["files"])


def test_clipped_source_gets_headroom(cp: Cp, sources: Path, tmp_path: Path) -> None:
    cp("convert", sources / "clipped.wav", "--target", "acs", "--out", tmp_path / "o")
    x, _ = sf.read(str(tmp_path / "o" / "clipped.wav"))
    assert 20 * np.log10(np.abs(x).max()) < -1.0


def test_ulaw_is_clipped_before_encoding(cp: Cp, sources: Path, tmp_path: Path) -> None:
    """Float samples above 1.0 written as mu-law wrap around (the sign flips) unless clipped first."""
    import soxr

    res = cp(
        "convert",
        sources / "float.wav",
        "--target",
        "signalwire",
        "--encoding",
        "ulaw",
        "--normalize",
        "--peak-dbfs",
        "0",
        "--out",
        tmp_path / "o",
        "-o",
        "json",
    )
    found = {x["rule"] for x in res.json()["data"]["files"][0]["findings"]}
    assert found <= {"clipping", "loudness-high"}  # asked for 0 dBFS: at mu-law's full scale, and loud
    assert sf.info(str(tmp_path / "o" / "float.wav")).subtype == "ULAW"
    y, _ = sf.read(str(tmp_path / "o" / "float.wav"), dtype="float32")
    src, _ = sf.read(str(sources / "float.wav"), dtype="float32")
    ref = soxr.resample(src, 16000, 8000)
    n = min(len(ref), len(y))
    loud = np.abs(ref[:n]) > 0.5 * np.abs(ref).max()
    assert loud.sum() > 100 and np.all(np.sign(y[:n][loud]) == np.sign(ref[:n][loud]))


def test_ulaw_only_for_signalwire(cp: Cp, sources: Path, tmp_path: Path) -> None:
    res = cp("convert", sources / "dc.wav", "--target", "acs", "--encoding", "ulaw", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "signalwire" in res.stderr


def test_normalize_and_trim(cp: Cp, tmp_path: Path) -> None:
    src = gen.padded(tmp_path / "pad.wav", 8000, lead=2.0, tail=3.0)
    res = cp("convert", src, "--target", "chime", "--trim", "--normalize", "--out", tmp_path / "o")
    assert res.exit_code == 0
    y, rate = sf.read(str(tmp_path / "o" / "pad.wav"))
    assert len(y) / rate == pytest.approx(1.0 + 0.1 + 0.2, abs=0.05)  # speech plus the air we keep
    assert 20 * np.log10(np.abs(y).max()) == pytest.approx(-1.05, abs=0.05)


def test_never_overwrites_the_source_unless_in_place(cp: Cp, tmp_path: Path) -> None:
    src = gen.write(tmp_path / "p.wav", 44100, 2)
    before = src.read_bytes()
    res = cp("convert", src, "--target", "acs", "--out", tmp_path)
    assert res.exit_code == 2 and "overwrite" in res.stderr and src.read_bytes() == before
    assert cp("convert", src, "--target", "acs").exit_code == 2  # --out is required
    os.chmod(src, 0o640)
    res = cp("convert", src, "--target", "acs", "--in-place")
    assert res.exit_code == 0 and sf.info(str(src)).samplerate == 16000
    assert stat.S_IMODE(src.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["p.wav"]  # no temp file left behind


def test_new_files_get_normal_permissions(cp: Cp, tmp_path: Path) -> None:
    src = gen.write(tmp_path / "p.wav", 44100)
    cp("convert", src, "--target", "chime", "--out", tmp_path / "o")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "o" / "p.wav").stat().st_mode) == 0o666 & ~umask


def test_directory_layout_and_name_clashes(cp: Cp, tmp_path: Path) -> None:
    d = tmp_path / "in"
    gen.write(d / "menu" / "main.wav", 44100)
    gen.mp3(d / "menu" / "main.mp3", 16000)
    res = cp("convert", d, "--target", "acs,chime", "--out", tmp_path / "o")
    assert res.exit_code == 0
    names = sorted(str(p.relative_to(tmp_path / "o")) for p in (tmp_path / "o").rglob("*.wav"))
    assert names == ["acs/menu/main.mp3.wav", "acs/menu/main.wav", "chime/menu/main.mp3.wav", "chime/menu/main.wav"]


def test_unconvertible_inputs_fail_with_a_reason(cp: Cp, tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    silent = gen.silent(tmp_path / "silent.wav")
    res = cp("convert", tmp_path / "empty.wav", silent, "--target", "acs", "--out", tmp_path / "o", "-o", "json")
    assert res.exit_code == 7
    files = {Path(f["source"]).name: f for f in res.json()["data"]["files"]}
    assert "empty" in files["empty.wav"]["error"]
    assert {x["rule"] for x in files["silent.wav"]["findings"]} == {"all-silent"}


def test_remote_inputs_are_refused(cp: Cp, tmp_path: Path) -> None:
    res = cp("convert", "https://example.com/a.wav", "--target", "acs", "--out", tmp_path)
    assert res.exit_code == 2 and "remote" in res.stderr


def test_many_files_in_a_pool(cp: Cp, tmp_path: Path) -> None:
    for i in range(6):
        gen.write(tmp_path / "in" / f"p{i}.wav", 44100, 2, seconds=0.3)
    res = cp("convert", tmp_path / "in", "--target", "vonage", "--out", tmp_path / "o", "--jobs", "2")
    assert res.exit_code == 0 and len(list((tmp_path / "o").glob("*.wav"))) == 6
