"""rules.py: known answers for every rule and every target, on generated files."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from callplay.audio.measure import measure
from callplay.audio.probe import Probe, probe_path
from callplay.audio.rules import (
    HEADER_RULES,
    RULE_IDS,
    RULES,
    AudioSettings,
    Thresholds,
    check,
    parse_targets,
    refusals,
    settings_from_config,
)
from callplay.audio.stats import SampleStats
from callplay.errors import ConfigError, UsageError
from tests.audio import gen

TARGETS = ["acs", "signalwire", "vonage", "chime"]
E, W = "error", "warning"


def _sine(rate: int, amp: float, seconds: float = 1.0) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * 300 * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


def _raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _patched_wav(path: Path, offset: int, value: bytes) -> Path:
    gen.write(path, 16000, 1, "PCM_16", 1.0)
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    return _raw(path, bytes(data))


def _all(found: set[tuple[str, str]], acs: set[tuple[str, str]] | None = None) -> dict[str, set[tuple[str, str]]]:
    """The same findings on every target, plus `acs` extras (ACS refuses 8 kHz)."""
    return {t: found | (acs or set()) if t == "acs" else found for t in TARGETS}


RATE_8K = {("sample-rate", E)}

# name -> (maker, {target: {(rule, severity), ...}}); a target left out expects no finding at all.
CASES: dict[str, tuple[Callable[[Path], Path], dict[str, set[tuple[str, str]]]]] = {
    "pcm16-16k": (lambda p: gen.write(p, 16000), {"chime": {("sample-rate", W)}}),
    "pcm16-8k": (lambda p: gen.write(p, 8000), {"acs": {("sample-rate", E)}}),
    "stereo-44k": (
        lambda p: gen.write(p, 44100, 2),
        {
            "acs": {("sample-rate", E), ("channels", E)},
            "vonage": {("sample-rate", E), ("channels", E)},
            "chime": {("sample-rate", W), ("channels", W)},
        },
    ),
    "pcm24-16k": (
        lambda p: gen.write(p, 16000, 1, "PCM_24"),
        {
            "acs": {("bit-depth", E)},
            "vonage": {("bit-depth", E)},
            "signalwire": {("codec", E)},
            "chime": {("bit-depth", W), ("sample-rate", W)},
        },
    ),
    "ulaw-8k": (
        lambda p: gen.write(p, 8000, 1, "ULAW"),
        {"acs": {("codec", E), ("sample-rate", E)}, "vonage": {("codec", E)}, "chime": {("codec", E)}},
    ),
    "float-16k": (
        lambda p: gen.write(p, 16000, 1, "FLOAT"),
        {
            "acs": {("codec", E)},
            "vonage": {("codec", E)},
            "signalwire": {("codec", E)},
            "chime": {("codec", E), ("sample-rate", W)},
        },
    ),
    "mp3": (lambda p: gen.mp3(p), {"acs": {("id3v2-missing", E)}, "chime": {("format", E)}}),
    "mp3-id3": (lambda p: gen.mp3(p, id3=True), {"chime": {("format", E)}}),
    "flac": (
        lambda p: gen.write(p, 16000, 1, "PCM_16", fmt="FLAC"),
        {t: {("format", E)} for t in TARGETS},
    ),
    "aiff-8k": (
        lambda p: gen.write(p, 8000, 1, "PCM_16", fmt="AIFF"),
        {t: {("format", E)} for t in ("acs", "vonage", "chime")},
    ),
    "au-ulaw": (
        lambda p: gen.write(p, 8000, 1, "ULAW", fmt="AU"),
        {t: {("format", E)} for t in ("acs", "vonage", "chime")},
    ),
    "wavex-16k": (
        lambda p: gen.write(p, 16000, 1, "PCM_16", fmt="WAVEX"),
        {
            "acs": {("wav-extensible", W)},
            "vonage": {("wav-extensible", W)},
            "chime": {("wav-extensible", W), ("sample-rate", W)},
        },
    ),
    "clipped-8k": (
        lambda p: gen.clipped(p, 8000),
        _all({("clipping", E), ("loudness-high", W)}, RATE_8K),
    ),
    "hot-8k": (
        lambda p: gen.write(p, 8000, data=_sine(8000, 0.95)),
        _all({("peak", W), ("loudness-high", W)}, RATE_8K),
    ),
    "quiet-8k": (
        lambda p: gen.write(p, 8000, data=_sine(8000, 0.02)),
        _all({("loudness-low", W)}, RATE_8K),
    ),
    "dc-8k": (
        lambda p: gen.write(p, 8000, data=gen.speech(8000, 1.0) + 0.05),
        _all({("dc-offset", W)}, RATE_8K),
    ),
    "padded-8k": (
        lambda p: gen.padded(p, 8000),
        _all({("silence-leading", W), ("silence-trailing", W)}, RATE_8K),
    ),
    "silent-8k": (
        lambda p: gen.silent(p, 8000),
        _all({("all-silent", E)}, RATE_8K),
    ),
    "nan-float": (
        lambda p: gen.write(p, 8000, 1, "FLOAT", data=np.where(np.arange(8000) == 5, np.nan, gen.speech(8000, 1.0))),
        {
            "acs": {("codec", E), ("sample-rate", E), ("non-finite", E)},
            "vonage": {("codec", E), ("non-finite", E)},
            "signalwire": {("codec", E), ("non-finite", E)},
            "chime": {("codec", E), ("non-finite", E)},
        },
    ),
    "short-8k": (
        lambda p: gen.write(p, 8000, seconds=0.1),
        _all({("duration-min", W)}, RATE_8K),
    ),
    "truncated-16k": (
        lambda p: gen.truncated(p, 16000),
        {**_all({("truncated", E)}), "chime": {("truncated", E), ("sample-rate", W)}},
    ),
    "streamed-16k": (
        lambda p: _patched_wav(p, 40, struct.pack("<I", 0xFFFFFFFF)),
        {**_all({("header-oddity", W)}), "chime": {("header-oddity", W), ("sample-rate", W)}},
    ),
    "data0-16k": (lambda p: _patched_wav(p, 40, b"\0\0\0\0"), {t: {("no-audio", E)} for t in TARGETS}),
    "empty": (lambda p: _raw(p, b""), {t: {("empty", E)} for t in TARGETS}),
    # Seeded: about one os.urandom(4000) in a thousand holds an MP3 frame sync and is (rightly) read as MP3.
    "random": (lambda p: _raw(p, random.Random(10).randbytes(4000) + b"!"), {t: {("unreadable", E)} for t in TARGETS}),
    "header-only": (lambda p: _raw(p, gen.write(p, 8000).read_bytes()[:12]), {t: {("unreadable", E)} for t in TARGETS}),
}


Found = dict[str, set[tuple[str, str]]]


def _findings(path: Path, quick: bool = False, settings: AudioSettings | None = None) -> Found:
    probe = probe_path(path)
    stats = None if quick or not probe.decodable else measure(str(path), probe)
    out: Found = {t: set() for t in TARGETS}
    for f in check(probe, stats, TARGETS, settings):
        assert f.target in TARGETS and f.message
        out[f.target or ""].add((f.rule, f.severity))
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_known_answers(tmp_path: Path, name: str) -> None:
    maker, expected = CASES[name]
    got = _findings(maker(tmp_path / f"{name}.wav"))
    assert got == {t: expected.get(t, set()) for t in TARGETS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_quick_agrees_with_full_on_header_rules(tmp_path: Path, name: str) -> None:
    path = CASES[name][0](tmp_path / f"{name}.wav")
    full, quick = _findings(path), _findings(path, quick=True)
    for t in TARGETS:
        assert {f for f in full[t] if f[0] in HEADER_RULES} == quick[t]


def test_every_rule_has_a_known_answer_somewhere() -> None:
    covered = {rule for _, expected in CASES.values() for found in expected.values() for rule, _ in found}
    elsewhere = {"file-size", "duration-max", "decode-error", "fetch", "content-type"}  # tested below / remote
    assert RULE_IDS - covered == elsewhere


def test_chime_file_size_limit_from_the_header(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "big.wav", 8000, 1, "PCM_16", 0.5)
    with open(path, "r+b") as f:
        f.truncate(51 * 1024 * 1024)  # sparse: the header still declares 0.5 s, the file is 51 MB
    probe = probe_path(path)
    found = {(f.rule, f.severity) for f in check(probe, None, ["chime"])}
    assert ("file-size", E) in found
    assert any("50 MB" in p for p in refusals(path, "chime"))
    assert not check(probe, None, ["signalwire"])  # no size limit unless configured


def test_thresholds_from_config(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "x.wav", 16000, seconds=1.0)
    settings = settings_from_config({"max_duration_s": 0.5, "acs": {"max_size_mb": 0.001}})
    got = _findings(path, settings=settings)
    assert ("duration-max", W) in got["acs"] and ("duration-max", W) in got["vonage"]
    assert ("file-size", E) in got["acs"] and ("file-size", E) not in got["vonage"]


def test_ignore_and_severity_overrides(tmp_path: Path) -> None:
    path = gen.padded(tmp_path / "p.wav", 16000)
    settings = settings_from_config({"ignore": ["silence-trailing"], "severity": {"silence-leading": "error"}})
    got = _findings(path, settings=settings)["acs"]
    assert got == {("silence-leading", E)}


def test_decode_error_rule() -> None:
    probe = Probe(
        name="x.mp3",
        container="MP3",
        subtype="MPEG_LAYER_III",
        sample_rate=16000,
        channels=1,
        frames=16000,
        duration_s=1.0,
        size_bytes=9000,
        has_id3v2=True,
    )
    found = check(probe, SampleStats(decode_error="mpg123 gave up"), ["acs"])
    assert [(f.rule, f.severity) for f in found] == [("decode-error", E)]


def test_fix_says_what_to_do_and_whether_convert_does_it(tmp_path: Path) -> None:
    # The rules give the words and convert's flags; the report writes the command (it knows the file's folder).
    path = gen.write(tmp_path / "my prompt.wav", 44100, 2)
    found = {f.rule: f for f in check(probe_path(path), None, ["acs"])}
    assert (found["sample-rate"].fix, found["sample-rate"].convert) == ("resample to 16 kHz mono", "")
    assert all("callplay convert" not in f.fix and "DIR" not in f.fix for f in found.values())


def test_files_with_the_same_header_share_memoised_findings_but_not_names(tmp_path: Path) -> None:
    a = gen.write(tmp_path / "a one.wav", 44100, 2)
    b = gen.write(tmp_path / "b.wav", 44100, 2)
    found_a = check(probe_path(a), None, TARGETS)
    found_b = check(probe_path(b), None, TARGETS)
    assert len(found_a) >= 4 and [f.to_dict() for f in found_a] == [f.to_dict() for f in found_b]
    assert found_a[0] is not found_b[0]  # each file gets its own Finding objects


def test_chime_refusals() -> None:
    assert refusals(b"", "chime") == ["empty file (0 bytes)"]
    probe = Probe(
        name="x.wav",
        container="WAV",
        subtype="ULAW",
        sample_rate=8000,
        channels=1,
        bits=8,
        frames=8000,
        duration_s=1.0,
        size_bytes=8044,
    )
    assert any("uncompressed PCM" in p for p in refusals(probe, "chime"))
    ok = Probe(
        name="x.wav",
        container="WAV",
        subtype="PCM_16",
        sample_rate=16000,
        channels=2,
        bits=16,
        frames=8000,
        duration_s=1.0,
        size_bytes=32044,
    )
    assert refusals(ok, "chime") == []  # rate and channels are recommendations, not refusals


def test_parse_targets() -> None:
    assert parse_targets(["acs,chime"]) == ["acs", "chime"]
    assert parse_targets(["all"]) == TARGETS
    assert parse_targets(["chime", "CHIME,acs"]) == ["chime", "acs"]
    with pytest.raises(UsageError):
        parse_targets(["twilio"])


@pytest.mark.parametrize(
    "raw",
    [
        {"max_peak_dbfs": "loud"},
        {"colour": 1},
        {"acs": {"ignore": []}},
        {"ignore": ["nope"]},
        {"severity": {"peak": "fatal"}},
        {"acs": 3},
    ],
)
def test_bad_config_is_a_config_error(raw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        settings_from_config(raw)


def test_defaults() -> None:
    s = settings_from_config({})
    assert s.for_target("acs") == Thresholds() and s.silence_threshold_db == -35.0
    assert {r.id for r in RULES} == RULE_IDS and len(RULES) == len(RULE_IDS)
