"""The issue's acceptance test, end to end through the CLI's entry point (callplay.cli.main, in-process):

a directory with a 44.1 kHz stereo WAV, a 16 kHz mono PCM16 WAV, an 8 kHz mono PCM16 WAV, a clipped file, a
truncated file and an MP3 without ID3 gives the right verdict per target, exit 7, and a JUnit report naming
each failing file and rule; `callplay convert` then makes every one of them pass for acs and for chime.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.audio import gen
from tests.conftest import CliResult, run_cli

EXPECTED: dict[str, dict[str, tuple[str, set[str]]]] = {  # file -> target -> (verdict, error rules)
    "stereo44k.wav": {
        "acs": ("fail", {"sample-rate", "channels"}),
        "signalwire": ("ok", set()),
        "vonage": ("fail", {"sample-rate", "channels"}),
        "chime": ("warn", set()),
    },
    "mono16k.wav": {
        "acs": ("ok", set()),
        "signalwire": ("ok", set()),
        "vonage": ("ok", set()),
        "chime": ("warn", set()),
    },
    "mono8k.wav": {
        "acs": ("fail", {"sample-rate"}),
        "signalwire": ("ok", set()),
        "vonage": ("ok", set()),
        "chime": ("ok", set()),
    },
    "clipped.wav": {t: ("fail", {"clipping"}) for t in ("acs", "signalwire", "vonage", "chime")},
    "truncated.wav": {t: ("fail", {"truncated"}) for t in ("acs", "signalwire", "vonage", "chime")},
    "noid3.mp3": {
        "acs": ("fail", {"id3v2-missing"}),
        "signalwire": ("ok", set()),
        "vonage": ("ok", set()),
        "chime": ("fail", {"format"}),
    },
}


def callplay(*args: object, env: dict[str, str]) -> CliResult:
    return run_cli(*map(str, args), env=env, timeout=120)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No callplay setting from the environment, no config file."""
    for name in [n for n in os.environ if n.startswith("CALLPLAY_")]:
        monkeypatch.delenv(name)
    return {"XDG_CONFIG_HOME": str(tmp_path / "no-config")}


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    d = tmp_path / "prompts"
    gen.write(d / "stereo44k.wav", 44100, 2, seconds=1.5)
    gen.write(d / "mono16k.wav", 16000, seconds=1.5)
    gen.write(d / "mono8k.wav", 8000, seconds=1.5)
    gen.clipped(d / "clipped.wav", 16000, seconds=1.5)
    gen.truncated(d / "truncated.wav", 16000, seconds=1.5)
    gen.mp3(d / "noid3.mp3", 16000, seconds=1.5)
    return d


def test_acceptance(prompts: Path, tmp_path: Path, env: dict[str, str]) -> None:
    report = tmp_path / "junit.xml"
    res = callplay("validate-audio", prompts, "--target", "all", "-o", "json", "--report", report, env=env)
    assert res.exit_code == 7, res.stderr
    assert "Traceback" not in res.stderr
    files = {Path(f["source"]).name: f for f in json.loads(res.stdout)["data"]["files"]}
    assert set(files) == set(EXPECTED)
    for name, per_target in EXPECTED.items():
        for target, (verdict, rules) in per_target.items():
            assert files[name]["verdict"][target] == verdict, (name, target)
            errors = {x["rule"] for x in files[name]["findings"] if x["target"] == target and x["severity"] == "error"}
            assert errors == rules, (name, target)
    _check_junit(report)
    for target in ("acs", "chime"):
        _convert_then_validate(prompts, tmp_path / f"fixed-{target}", target, env)


def _check_junit(report: Path) -> None:
    root = ET.parse(report).getroot()
    failures = {}
    for case in root.iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            failures[(case.get("classname"), Path(case.get("name") or "").name)] = failure
    expected = {
        (f"validate-audio.{t}", name) for name, per in EXPECTED.items() for t, (v, _) in per.items() if v == "fail"
    }
    assert set(failures) == expected
    for (classname, name), failure in failures.items():
        target = (classname or "").rsplit(".", 1)[-1]
        rules = EXPECTED[name][target][1]
        assert name in (failure.get("message") or "") and failure.get("type") in rules
        assert all(f"[{rule}]" in (failure.text or "") for rule in rules)


def _convert_then_validate(prompts: Path, out: Path, target: str, env: dict[str, str]) -> None:
    res = callplay("convert", prompts, "--target", target, "--out", out, "-o", "json", env=env)
    assert res.exit_code == 0, res.stdout + res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(n).stem + ".wav" for n in EXPECTED)
    check = callplay("validate-audio", out, "--target", target, "--format", "github", env=env)
    assert check.exit_code == 0, check.stdout
    assert "::error" not in check.stdout
