"""Every command's --help (docs/cli.md is all of them): current, with examples, metavars that name the thing,
choices listed, and whole-sentence summaries in `callplay --help`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callplay import clidoc
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _helps() -> dict[str, str]:
    """Command path -> its --help, from the generated reference."""
    found = re.findall(r"^## (.+?)\n\n```text\n(.*?)\n```", clidoc.render(), re.S | re.M)
    return dict(found)


HELPS = _helps()


def test_committed_reference_is_current() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text()
    assert committed == clidoc.render(), f"docs/cli.md is stale: run `{clidoc.REGENERATE}`"


def test_reference_is_what_help_prints_at_80_columns() -> None:
    for path in ("callplay", "callplay play", "callplay events listen"):
        result = run_cli(*path.split()[1:], "--help", env={"COLUMNS": "80"})
        assert result.exit_code == 0
        assert result.stdout.rstrip() == HELPS[path]


@pytest.mark.parametrize("path", sorted(HELPS))
def test_help_ends_with_real_examples(path: str) -> None:
    text = HELPS[path]
    assert "\n  Examples:\n" in text, f"{path} --help has no examples"
    examples = [line for line in text.split("\n  Examples:\n", 1)[1].splitlines() if line.strip()]
    assert 2 <= len(examples) <= 3, examples
    for line in examples:
        assert line.startswith("    callplay "), line  # one per line: not rewrapped into a paragraph
        words = line.split()
        assert words[1] in {p.split()[1] for p in HELPS if p != "callplay"}, line


@pytest.mark.parametrize("path", sorted(HELPS))
def test_metavars_name_the_thing(path: str) -> None:
    text = HELPS[path]
    usage = text.splitlines()[0]
    assert "{" not in usage, usage
    options = text.split("\nOptions:\n", 1)[-1].split("\n\n", 1)[0]
    for line in [usage, *options.splitlines()]:
        assert not re.search(r"<(str|int|float|path|text|integer)>", line, re.I), line


def test_choices_are_listed() -> None:
    assert "-o, --output table|json" in HELPS["callplay play"]
    assert "--direction listen|speak|both" in HELPS["callplay play"]
    assert "--gender female|male" in HELPS["callplay play"]
    assert "--format table|json|junit|github" in HELPS["callplay validate-audio"]
    assert "acs, signalwire, vonage, chime" in HELPS["callplay validate-audio"]
    assert "Usage: callplay completions [OPTIONS] SHELL" in HELPS["callplay completions"]
    assert "bash, zsh or fish" in HELPS["callplay completions"]


def test_top_level_summaries_are_whole_sentences() -> None:
    commands = HELPS["callplay"].split("\nCommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(commands) >= 14
    for line in commands:
        assert line.rstrip().endswith(".") and not line.rstrip().endswith("..."), line
        assert "(e.g" not in line, line
