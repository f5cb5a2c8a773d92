"""Usage errors that click finds (before callplay sees the arguments) speak the JSON envelope with -o json, and
every error.code callplay can emit is listed in the README."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from callplay.errors import ExitCode
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        (("stream-status", "-o", "json"), "stream-status", "missing argument 'CALL'"),
        (("stop", "c1", "--bogus", "--output", "json"), "stop", "no such option: --bogus"),
        (("loop", "c1", "--times", "many", "--output=json"), "loop", "invalid value for '--times': 'many'"),
        (("events", "list", "--nope", "-ojson"), "events list", "no such option: --nope"),
        (("no-such-command", "-o", "json"), "", "no such command 'no-such-command'"),
        # The global option before anything else: no command takes it, and the envelope is still printed.
        (("-o", "json", "--bogus"), "", "no such option: --bogus"),
        (("-o", "json", "no-such-command"), "", "no such command 'no-such-command'"),
        (("--output=json", "play", "c1", "--tts", "hi", "--bogus"), "play", "no such option: --bogus"),
    ],
    ids=[
        "missing-argument",
        "unknown-option",
        "bad-value-type",
        "subcommand",
        "unknown-command",
        "leading-output-unknown-option",
        "leading-output-unknown-command",
        "leading-output-then-command",
    ],
)
def test_click_usage_errors_print_the_envelope_with_json_output(
    args: tuple[str, ...], command: str, message: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    envelope = result.json()
    assert envelope == {
        "version": 1,
        "command": command,
        "ok": False,
        "data": None,
        "error": {"code": "usage", "message": envelope["error"]["message"], "hint": envelope["error"]["hint"]},
    }
    assert envelope["error"]["message"].startswith(message)
    usage = f"callplay {command}".strip()
    assert (
        envelope["error"]["hint"].startswith(f"usage: {usage} [OPTIONS]")
        and f"`{usage} --help`" in envelope["error"]["hint"]
    )
    error, hint = result.stderr.splitlines()  # the same, as callplay tells every error
    assert error == f"error: {envelope['error']['message']}" and hint == f"hint: {envelope['error']['hint']}"


def test_a_command_without_an_output_format_prints_no_envelope() -> None:
    for args in (("completions", "bash", "--bogus", "-o", "json"), ("emulator", "serve", "--port", "x", "-o", "json")):
        result = run_cli(*args, env={"CALLPLAY_OUTPUT": "json"})
        assert result.exit_code == ExitCode.USAGE, (args, result.stderr)
        assert result.stdout == "" and result.stderr.startswith("error: ")


def test_the_environment_variable_chooses_json_when_argv_does_not() -> None:
    result = run_cli("volume", "c1", env={"CALLPLAY_OUTPUT": "json"})
    assert result.exit_code == ExitCode.USAGE
    assert result.json()["error"]["code"] == "usage" and result.json()["command"] == "volume"
    # The command line wins over the environment, and the last -o wins on the command line.
    table = run_cli("volume", "c1", "-o", "json", "-o", "table", env={"CALLPLAY_OUTPUT": "json"})
    assert table.exit_code == ExitCode.USAGE and table.stdout == ""


def test_without_json_stdout_stays_empty() -> None:
    result = run_cli("play", "--bogus")
    assert result.exit_code == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.startswith("error: no such option: --bogus\nhint: usage: callplay play")


def test_no_command_at_all_with_json_output_is_an_envelope_not_the_help_text() -> None:
    result = run_cli(env={"CALLPLAY_OUTPUT": "json"})
    assert result.exit_code == ExitCode.USAGE
    assert result.json()["error"] == {
        "code": "usage",
        "message": "missing command",
        "hint": "choose one of the commands above (`callplay --help`)",
    }
    assert "Commands:" in result.stderr  # the help, on stderr as before
    assert result.stderr.endswith(
        "error: missing command\nhint: choose one of the commands above (`callplay --help`)\n"
    )


# --------------------------------------------------------------------------------------- the README's list


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """CallplayError and every class that derives from it, anywhere in callplay."""
    names = {"CallplayError"}
    grew = True
    while grew:
        found = {
            node.name
            for tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", getattr(base, "attr", None)) in names for base in node.bases)
        }
        grew = not found <= names
        names |= found
    return names


def _codes_in_source() -> set[str]:
    """Every error code in callplay: a `code = "..."` on an error class, a `code="..."` given to one."""
    trees = [ast.parse(path.read_text(), str(path)) for path in sorted((ROOT / "callplay").rglob("*.py"))]
    classes = _error_classes(trees)
    codes: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in classes:
                codes |= {_literal(stmt.value) for stmt in node.body if _assigns_code(stmt)}
            elif isinstance(node, ast.Call) and _callee(node) in classes:
                codes |= {_literal(kw.value) for kw in node.keywords if kw.arg == "code"}
    return codes


def _assigns_code(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assign):
        return any(getattr(target, "id", None) == "code" for target in stmt.targets)
    return isinstance(stmt, ast.AnnAssign) and getattr(stmt.target, "id", None) == "code" and stmt.value is not None


def _callee(call: ast.Call) -> str | None:
    return getattr(call.func, "id", getattr(call.func, "attr", None))


def _literal(value: ast.expr | None) -> str:
    assert isinstance(value, ast.Constant) and isinstance(value.value, str), (
        f"line {getattr(value, 'lineno', '?')}: an error code must be a string literal, for the README's list"
    )
    return value.value


def _codes_in_readme() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| `error.code` |") :].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))


def test_every_error_code_is_in_the_readme() -> None:
    in_source, in_readme = _codes_in_source(), _codes_in_readme()
    assert {"usage", "config", "unexpected", "interrupted"} <= in_source  # the scan finds what it should
    missing, stale = sorted(in_source - in_readme), sorted(in_readme - in_source)
    assert not missing, f"add these error codes to the README's `error.code` table: {missing}"
    assert not stale, f"the README lists error codes callplay no longer emits: {stale}"
