"""validate-audio's fixes can be pasted as they are (issue 14): concrete commands, a complete --fix set, honest
counts, --report into a new folder, deleted prompts in a stdin list.

The acceptance folder: a 44.1 kHz stereo WAV, an MP3 without ID3v2, a clipped WAV and an all-silent WAV, plus
one in a subfolder whose name has a space and a quote (the shell-quoting case), checked for acs and chime.
"""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from callplay.audio.probe import Probe
from callplay.audio.report import FileResult, convert_command, sibling
from tests.audio import gen
from tests.audio.conftest import Run

Cp = Callable[..., Run]
TARGETS = ["acs", "chime"]
# What a command a user pastes must never hold: the old merged-fix placeholders and their kin.
PLACEHOLDER = re.compile(r"--target T\b|\bDIR\b|\bFILE\b|\bBUCKET\b|\bKEY\b|<(?:org|sha|file|dir|target)>")
QUOTED = "sub dir/it's here.wav"  # a space and a quote: shlex.quote must carry it through


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """prompts/ in the current directory (relative paths, as in CI)."""
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "prompts"
    gen.write(d / "stereo44k.wav", 44100, 2, seconds=1.5)
    gen.mp3(d / "noid3.mp3", 16000, seconds=1.5)
    gen.clipped(d / "clipped.wav", 16000, seconds=1.5)
    gen.silent(d / "silent.wav", 8000, seconds=1.5)
    gen.write(d / QUOTED, 8000, seconds=1.5)  # fails acs (8 kHz), passes chime
    return d


def _args(*extra: str) -> list[str]:
    return ["validate-audio", "prompts", "--target", ",".join(TARGETS), *extra]


def _no_placeholder(text: str) -> None:
    bad = [line for line in text.splitlines() if PLACEHOLDER.search(line)]
    assert not bad, bad


@pytest.mark.parametrize("fmt", [["-o", "table"], ["-o", "json"], ["--format", "github"], ["--format", "junit"]])
def test_no_output_line_holds_a_placeholder(cp: Cp, folder: Path, fmt: list[str]) -> None:
    res = cp(*_args(*fmt))
    assert res.exit_code == 7, res.stderr
    _no_placeholder(res.stdout)
    _no_placeholder(res.stderr)  # the error's hint too
    assert "convert" in res.stdout  # the fixes are there, not just gone


def test_no_placeholder_in_the_junit_report_file(cp: Cp, folder: Path) -> None:
    res = cp(*_args("--report", "r.xml"))
    assert res.exit_code == 7
    _no_placeholder(Path("r.xml").read_text())


def test_each_fix_names_its_file_target_and_folder(cp: Cp, folder: Path) -> None:
    files = {Path(f["source"]).name: f for f in cp(*_args("-o", "json")).json()["data"]["files"]}
    stereo = {x["target"]: x["command"] for x in files["stereo44k.wav"]["findings"] if x["rule"] == "sample-rate"}
    assert stereo == {
        "acs": "callplay convert prompts/stereo44k.wav --target acs --out prompts-acs/",
        "chime": "callplay convert prompts/stereo44k.wav --target chime --out prompts-chime/",
    }
    quoted = files[Path(QUOTED).name]["findings"][0]
    assert shlex.split(quoted["command"]) == [
        "callplay", "convert", f"prompts/{QUOTED}", "--target", "acs", "--out", "prompts-acs/sub dir/"
    ]  # fmt: skip
    assert quoted["fix"].endswith(quoted["command"])


def test_silence_is_named_as_not_fixable_by_conversion(cp: Cp, folder: Path) -> None:
    res = cp(*_args())
    block = res.stdout[res.stdout.index("fix with:") :]
    assert "silent.wav" not in block.split("not fixable by conversion:")[0]  # no convert suggested for it
    assert re.search(r"not fixable by conversion:\n  prompts/silent.wav \(acs, chime\): all-silent: re-record", block)
    assert "not fixable by conversion: prompts/silent.wav (all-silent)" in res.stderr
    assert "acs 5, chime 3" in res.stderr  # the summary names every target with failures
    github = cp(*_args("--format", "github")).stdout
    silent = [line for line in github.splitlines() if "silent.wav" in line]
    assert silent and not any("callplay convert" in line for line in silent)
    assert any("title=all-silent::acs, chime:" in ln and "no conversion fixes this: re-record" in ln for ln in silent)


def test_clipping_is_converted_but_says_the_distortion_stays(cp: Cp, folder: Path) -> None:
    files = {Path(f["source"]).name: f for f in cp(*_args("-o", "json")).json()["data"]["files"]}
    clip = [x for x in files["clipped.wav"]["findings"] if x["rule"] == "clipping"]
    assert clip and all("keeps the distortion" in x["fix"] and x["command"] for x in clip)


def test_the_suggested_commands_run_as_pasted(cp: Cp, folder: Path) -> None:
    """Every line under "fix with:" is run as a shell would split it; each copy then passes for its target."""
    out = cp(*_args()).stdout
    block = out[out.index("fix with:") : out.index("not fixable by conversion:")]
    commands = [shlex.split(line) for line in block.splitlines()[1:]]
    assert len(commands) == 7 and all(c[:2] == ["callplay", "convert"] for c in commands)
    for argv in commands:
        assert cp(*argv[1:]).exit_code == 0, argv
    assert Path("prompts-acs/sub dir/it's here.wav").is_file()
    for target in TARGETS:
        assert cp("validate-audio", f"prompts-{target}", "--target", target).exit_code == 0


def test_fix_writes_a_complete_set_per_target(cp: Cp, folder: Path) -> None:
    res = cp(*_args("--fix", "--out", "out/", "-o", "json"))
    assert res.exit_code == 7  # the silent prompt is still missing from the set
    env = res.json()
    assert "silent.wav" in env["error"]["message"] and "not fixable by conversion" in env["error"]["hint"]
    expected = {"stereo44k.wav", "noid3.wav", "clipped.wav", QUOTED}  # all but the silent one, paths kept
    for target in TARGETS:
        written = {str(p.relative_to(f"out/{target}")) for p in Path("out", target).rglob("*") if p.is_file()}
        assert written == expected, target
        check = cp("validate-audio", f"out/{target}", "--target", target, "-o", "json")
        assert check.exit_code == 0, check.stdout  # every file of the set passes
    fixes = env["data"]["fixes"]
    by = {(Path(f["source"]).name, f["target"]): f for f in fixes}
    assert by[("stereo44k.wav", "acs")]["action"] == "converted"
    assert by[("stereo44k.wav", "chime")]["action"] == "copied"  # only warnings on chime: copied as it is
    assert by[(Path(QUOTED).name, "chime")]["action"] == "copied"
    for target in TARGETS:
        silent = by[("silent.wav", target)]
        assert (silent["action"], silent["output"], silent["verdict"]) == ("not fixable", None, "fail")
        assert silent["error"].startswith("not fixable by conversion (all-silent)")


def test_fix_counts_are_honest(cp: Cp, folder: Path) -> None:
    res = cp(*_args("--fix", "--out", "out"))
    caption = next(line for line in res.stdout.splitlines() if "written (converted)" in line)
    # chime passes stereo44k.wav (warnings) and the quoted one: copied; the other six file x target converted
    written = sum(1 for p in Path("out").rglob("*") if p.is_file())
    assert written == 8 and caption.startswith("6 written (converted), 2 copied as they are")
    assert "2 not fixable by conversion, not written: prompts/silent.wav (acs, chime)" in caption
    assert "still fail after --fix: prompts/silent.wav" in res.stderr


def test_report_into_a_missing_folder_creates_it(cp: Cp, folder: Path) -> None:
    res = cp(*_args("--report", "reports/sub/validate.xml"))
    assert res.exit_code == 7, res.stderr  # the results, not a usage error
    cases = ET.parse("reports/sub/validate.xml").getroot().iter("testcase")
    assert len(list(cases)) == 5 * len(TARGETS)


def test_report_under_a_regular_file_is_still_exit_2_before_the_work(cp: Cp, folder: Path) -> None:
    Path("a-file").write_text("x")
    res = cp(*_args("--report", "a-file/sub/r.xml"))
    assert res.exit_code == 2 and "a-file" in res.stderr and "Traceback" not in res.stderr


def test_stdin_list_skips_a_deleted_prompt_with_a_note(cp: Cp, folder: Path) -> None:
    listing = "prompts/deleted.wav\nprompts/stereo44k.wav\n"
    res = cp("validate-audio", "-", "--target", "chime", "-o", "json", input=listing)
    assert res.exit_code == 0, res.stderr
    data = res.json()["data"]
    assert [Path(f["source"]).name for f in data["files"]] == ["stereo44k.wav"]
    assert data["skipped"] == ["prompts/deleted.wav"]
    assert "skipped 1 path(s) listed on stdin that no longer exist: prompts/deleted.wav" in res.stderr
    github = cp("validate-audio", "-", "--target", "chime", "--format", "github", input=listing)
    assert "1 listed path(s) skipped" in github.stdout.splitlines()[-1]


def test_missing_error_fails_on_a_deleted_prompt(cp: Cp, folder: Path) -> None:
    listing = "prompts/deleted.wav\nprompts/stereo44k.wav\n"
    res = cp("validate-audio", "-", "--target", "chime", "--missing", "error", input=listing)
    assert res.exit_code == 2 and "no such file or directory: prompts/deleted.wav" in res.stderr


def test_a_missing_argument_is_a_usage_error_whatever_missing_says(cp: Cp, folder: Path) -> None:
    res = cp("validate-audio", "prompts/deleted.wav", "--target", "chime", "--missing", "skip")
    assert res.exit_code == 2 and "no such file" in res.stderr


def test_out_folders_sit_beside_the_folder_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sibling("prompts/", "acs") == "prompts-acs"
    assert sibling("", "acs") == sibling(".", "acs") == f"../{tmp_path.name}-acs"
    assert sibling("/", "acs") == "/acs"


@pytest.mark.parametrize(
    ("kind", "uri", "fetch"),
    [
        ("url", "https://cdn.example/p/hi there.wav", "curl -fLo 'hi there.wav' 'https://cdn.example/p/hi there.wav'"),
        ("s3", "s3://bucket/p/hi.wav", "aws s3 cp s3://bucket/p/hi.wav hi.wav"),
    ],
)  # fmt: skip
def test_remote_sources_are_downloaded_first(kind: str, uri: str, fetch: str) -> None:
    rel = "hi there.wav" if kind == "url" else "hi.wav"
    r = FileResult(uri, kind, Probe(name=uri), None, rel=rel)
    command = convert_command(r, "chime", ["--trim"])
    assert command.startswith(fetch + " && callplay convert ")
    assert command.endswith("--target chime --trim --out chime/") and not PLACEHOLDER.search(command)


def test_the_json_fixes_are_json(cp: Cp, folder: Path) -> None:
    data = cp(*_args("-o", "json")).json()["data"]
    assert json.dumps(data) and all("command" in x for f in data["files"] for x in f["findings"])


def test_a_converted_copy_never_replaces_a_copied_file(cp: Cp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    gen.write(tmp_path / "p" / "x.wav", 16000)  # passes acs: copied as x.wav
    gen.mp3(tmp_path / "p" / "x.mp3")  # no ID3v2: converted, and x.wav is taken
    res = cp("validate-audio", "p", "--target", "acs", "--fix", "--out", "o", "-o", "json")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in Path("o/acs").iterdir()) == ["x.mp3.wav", "x.wav"]
    assert Path("o/acs/x.wav").read_bytes() == Path("p/x.wav").read_bytes()


def test_fix_refuses_two_inputs_bound_for_one_file(cp: Cp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    gen.write(tmp_path / "p" / "en" / "hi.wav", 8000)
    gen.write(tmp_path / "p" / "fr" / "hi.wav", 8000)
    res = cp("validate-audio", "-", "--target", "acs", "--fix", "--out", "o", input="p/en/hi.wav\np/fr/hi.wav\n")
    assert res.exit_code == 2 and "would both be written to o/acs/hi.wav" in res.stderr
    assert not Path("o").exists()
    assert cp("validate-audio", "p", "--target", "acs", "--fix", "--out", "o").exit_code == 0  # the folder: fine
    assert sorted(str(p.relative_to("o")) for p in Path("o").rglob("*.wav")) == ["acs/en/hi.wav", "acs/fr/hi.wav"]
