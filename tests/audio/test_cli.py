"""validate-audio through the CLI: formats, exit codes, inputs, --quick, --fix."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.audio import gen
from tests.audio.conftest import Run
from tests.conftest import run_cli, run_subprocess, spawn_cli

Cp = Callable[..., Run]


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    d = tmp_path / "prompts"
    gen.write(d / "good16k.wav", 16000)
    gen.write(d / "menu" / "good8k.wav", 8000)
    gen.write(d / "menu" / "stereo.wav", 44100, 2)
    gen.truncated(d / "old" / "cut.wav")
    (d / "empty.wav").write_bytes(b"")
    (d / "notes.txt").write_text("not audio, not picked up")
    return d


def test_clean_file_exits_0(cp: Cp, prompts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(prompts)  # short relative names: the table folds long ones
    res = cp("validate-audio", "good16k.wav", "--target", "acs")
    assert res.exit_code == 0, res.stderr
    assert "good16k.wav" in res.stdout and "1 passed" in res.stdout


def test_errors_exit_7_and_failures_come_first(cp: Cp, prompts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(prompts.parent)
    res = cp("validate-audio", "prompts", "--target", "acs")
    assert res.exit_code == 7
    out = res.stdout
    assert out.index("cut.wav") < out.index("good16k.wav") and out.index("empty.wav") < out.index("good16k.wav")
    assert "notes.txt" not in out
    assert "5 file(s): 4 failed" in out
    assert "fail validation" in res.stderr


def test_warnings_fail_only_with_strict(cp: Cp, prompts: Path) -> None:
    path = prompts / "good16k.wav"
    assert cp("validate-audio", path, "--target", "chime").exit_code == 0  # 16 kHz: a warning on Chime
    assert cp("validate-audio", path, "--target", "chime", "--strict").exit_code == 7


def test_json_envelope(cp: Cp, prompts: Path) -> None:
    res = cp("validate-audio", prompts / "menu", "--target", "acs,chime", "-o", "json")
    env = res.json()
    assert env["command"] == "validate-audio" and env["ok"] is False and env["error"]["code"] == "audio_invalid"
    data = env["data"]
    assert data["targets"] == ["acs", "chime"] and data["summary"]["files"] == 2
    by = {Path(f["source"]).name: f for f in data["files"]}
    assert by["good8k.wav"]["verdict"] == {"acs": "fail", "chime": "ok"}
    assert by["stereo.wav"]["verdict"] == {"acs": "fail", "chime": "warn"}
    assert {f["rule"] for f in by["stereo.wav"]["findings"]} == {"sample-rate", "channels"}
    assert by["good8k.wav"]["probe"]["sample_rate"] == 8000 and by["good8k.wav"]["stats"]["peak_dbfs"] < 0


def test_junit_report_file(cp: Cp, prompts: Path, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    res = cp("validate-audio", prompts, "--target", "acs,chime", "--format", "junit", "--report", report)
    assert res.exit_code == 7 and "findings" in res.stdout and "5 file(s)" in res.stdout  # table too
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 10 and suite.get("tests") == "10"
    failed = {(c.get("classname"), Path(c.get("name") or "").name): c.find("failure") for c in cases}
    cut = failed[("validate-audio.acs", "cut.wav")]
    assert cut is not None and cut.get("type") == "truncated" and "cut.wav" in (cut.get("message") or "")
    assert failed[("validate-audio.acs", "stereo.wav")] is not None
    assert failed[("validate-audio.chime", "stereo.wav")] is None  # warnings only on Chime
    assert failed[("validate-audio.acs", "good16k.wav")] is None
    assert suite.get("failures") == str(sum(f is not None for f in failed.values()))


def test_junit_on_stdout(cp: Cp, prompts: Path) -> None:
    res = cp("validate-audio", prompts / "empty.wav", "--target", "vonage", "--format", "junit")
    root = ET.fromstring(res.stdout)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "empty" and res.exit_code == 7


def test_github_annotations(cp: Cp, prompts: Path) -> None:
    res = cp("validate-audio", prompts, "--target", "acs,chime", "--format", "github")
    lines = res.stdout.splitlines()
    errors = [ln for ln in lines if ln.startswith("::error ")]
    assert any(f"file={prompts / 'old' / 'cut.wav'},title=truncated::acs, chime: truncated" in ln for ln in errors)
    assert any("title=sample-rate::acs:" in ln and "stereo.wav" in ln for ln in errors)
    assert any(ln.startswith("::warning ") and "title=sample-rate::chime:" in ln for ln in lines)
    assert lines[-1].startswith("5 file(s)") and res.exit_code == 7


def test_github_escapes_properties() -> None:
    from callplay.audio.report import _gh_data, _gh_prop

    assert _gh_prop("a,b:c%") == "a%2Cb%3Ac%25" and _gh_data("x\ny%") == "x%0Ay%25"


def test_stdin_list(cp: Cp, prompts: Path) -> None:
    listing = f"# prompts to check\n{prompts / 'good16k.wav'}\n\n{prompts / 'menu'}\n"
    res = cp("validate-audio", "-", "--target", "vonage", "-o", "json", input=listing)
    names = sorted(Path(f["source"]).name for f in res.json()["data"]["files"])
    assert names == ["good16k.wav", "good8k.wav", "stereo.wav"]


def test_include_exclude(cp: Cp, prompts: Path) -> None:
    def names(*flags: str) -> list[str]:
        res = cp("validate-audio", prompts, "--target", "signalwire", "-o", "json", *flags)
        return sorted(Path(f["source"]).name for f in res.json()["data"]["files"])

    assert names("--exclude", "old", "--exclude", "empty.wav") == ["good16k.wav", "good8k.wav", "stereo.wav"]
    assert names("--include", "menu/*") == ["good8k.wav", "stereo.wav"]
    assert names("--include", "*.txt") == ["notes.txt"]


def test_truncated_and_empty_files_are_findings(cp: Cp, prompts: Path) -> None:
    res = cp("validate-audio", prompts / "old" / "cut.wav", prompts / "empty.wav", "--target", "all", "-o", "json")
    assert res.exit_code == 7 and (res.exception is None or isinstance(res.exception, SystemExit))
    rules = {Path(f["source"]).name: {x["rule"] for x in f["findings"]} for f in res.json()["data"]["files"]}
    assert rules == {"cut.wav": {"truncated", "sample-rate"}, "empty.wav": {"empty"}}


def test_quick_agrees_with_full_on_header_rules(cp: Cp, prompts: Path) -> None:
    from callplay.audio.rules import HEADER_RULES

    def rules(*flags: str) -> set[tuple[str, str, str]]:
        data = cp("validate-audio", prompts, "--target", "all", "-o", "json", *flags).json()["data"]
        return {(f["source"], x["rule"], x["target"]) for f in data["files"] for x in f["findings"]}

    quick = rules("--quick")
    assert quick and {r for r in rules() if r[1] in HEADER_RULES} == quick


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--target", "twilio"], 2, "unknown target"),
        (["--format", "xml"], 2, "unknown --format"),
        (["-o", "yaml"], 2, "unknown output format"),
        (["--ignore", "nope"], 2, "unknown rule"),
        (["--fix"], 2, "--fix needs --out"),
    ],
)
def test_usage_errors(cp: Cp, prompts: Path, args: list[str], code: int, text: str) -> None:
    res = cp("validate-audio", prompts / "good16k.wav", *args)
    assert res.exit_code == code and text in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_missing_input_and_no_input(cp: Cp, tmp_path: Path) -> None:
    res = cp("validate-audio", tmp_path / "nope.wav", "--target", "acs")
    assert res.exit_code == 2 and "no such file" in res.stderr
    res = cp("validate-audio", "--target", "acs")
    assert res.exit_code == 2 and "nothing to check" in res.stderr


def test_ignore_a_rule(cp: Cp, prompts: Path) -> None:
    path = prompts / "menu" / "good8k.wav"
    assert cp("validate-audio", path, "--target", "acs").exit_code == 7
    assert cp("validate-audio", path, "--target", "acs", "--ignore", "sample-rate").exit_code == 0


def test_thresholds_from_the_config_file(
    cp: Cp, prompts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "callplay.toml"
    config.write_text("[audio]\nmax_duration_s = 0.5\n[audio.vonage]\nseverity = 1\n")
    monkeypatch.setenv("CALLPLAY_CONFIG", str(config))
    res = cp("validate-audio", prompts / "good16k.wav", "--target", "vonage")
    assert res.exit_code == 3 and "audio.vonage" in res.stderr  # a bad key is a config error
    config.write_text('[audio]\nmax_duration_s = 0.5\nseverity = { duration-max = "error" }\n')
    res = cp("validate-audio", prompts / "good16k.wav", "--target", "vonage", "-o", "json")
    assert res.exit_code == 7 and res.json()["data"]["files"][0]["findings"][0]["rule"] == "duration-max"


def test_target_from_the_profile(cp: Cp, prompts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "callplay.toml"
    config.write_text('default_profile = "c"\n[profiles.c]\nprovider = "chime"\n')
    monkeypatch.setenv("CALLPLAY_CONFIG", str(config))
    res = cp("validate-audio", prompts / "good16k.wav", "-o", "json")
    assert res.json()["data"]["targets"] == ["chime"]


def test_process_pool_gives_the_same_answers(cp: Cp, prompts: Path) -> None:
    for i in range(14):  # enough files for the pool
        gen.write(prompts / "many" / f"p{i}.wav", 8000 * (1 + i % 2), 1 + i % 2, seconds=0.3)
    one = cp("validate-audio", prompts, "--target", "all", "-o", "json").json()["data"]["files"]
    many = cp("validate-audio", prompts, "--target", "all", "-o", "json", "--jobs", "2").json()["data"]["files"]
    assert json.dumps(one, sort_keys=True) == json.dumps(many, sort_keys=True)


def test_fix_writes_passing_copies(cp: Cp, prompts: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixed"
    res = cp(
        "validate-audio", prompts / "menu", prompts / "old", "--target", "acs", "--fix", "--out", out, "-o", "json"
    )
    fixes = res.json()["data"]["fixes"]
    assert {Path(f["output"]).name for f in fixes} == {"good8k.wav", "stereo.wav", "cut.wav"}
    assert all(f["verdict"] != "fail" for f in fixes) and res.exit_code == 0
    assert cp("validate-audio", out, "--target", "acs").exit_code == 0


def test_through_the_real_app(prompts: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.delenv("CALLPLAY_CONFIG", raising=False)
    res = run_cli("validate-audio", str(prompts / "good16k.wav"), "--target", "acs", "--jobs", "1")
    assert res.exit_code == 0, res.stderr
    assert "convert" in run_cli("--help").stdout


def test_large_tables_list_rule_ids_only(cp: Cp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from callplay.audio import report

    monkeypatch.setattr(report, "DETAILED_ROWS", 3)
    for i in range(4):
        gen.write(tmp_path / "p" / f"s{i}.wav", 8000, seconds=0.3)
    monkeypatch.chdir(tmp_path)
    res = cp("validate-audio", "p", "--target", "acs", "--quick")
    assert "rule IDs only" in res.stdout and "sample-rate" in res.stdout and "resample" not in res.stdout
    detailed = cp("validate-audio", "p/s0.wav", "--target", "acs", "--quick")
    assert "resample to 16 kHz" in detailed.stdout


def test_the_real_process_flushes_everything_and_keeps_the_exit_code(prompts: Path, tmp_path: Path) -> None:
    # validate-audio ends the process without interpreter teardown (os._exit): the output must still be whole.
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none")}
    args = ["validate-audio", str(prompts), "--target", "all"]
    github = run_subprocess(*args, "--format", "github", env=env)
    assert github.exit_code == 7, github.stderr
    assert github.stdout.rstrip().splitlines()[-1].startswith("5 file(s): 4 failed")
    assert github.stderr.startswith("error: 4 of 5 file(s) fail validation")
    table = run_subprocess(*args, "-o", "json", env=env)
    assert table.exit_code == 7 and json.loads(table.stdout)["data"]["summary"]["files"] == 5
    # A reader that stops early (| head -1) with far more output than a pipe holds: no traceback, and still
    # the report's exit code.
    many = tmp_path / "many"
    many.mkdir()
    one = gen.write(tmp_path / "one.wav", 44100, 2, seconds=0.02).read_bytes()
    for i in range(400):
        (many / f"stereo-{i:03d}.wav").write_bytes(one)
    more = ["validate-audio", str(many), "--target", "all", "--quick", "--format", "github"]
    proc = spawn_cli(*more, text=False, env={**os.environ, **env})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 7 and "Traceback" not in err
