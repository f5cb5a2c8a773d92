"""docs/validate-audio.md and .pre-commit-hooks.yaml stay in step with the code."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from callplay.audio import AUDIO_EXTENSIONS
from callplay.audio.rules import _GLOBAL_KEYS, RULES, Thresholds

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "validate-audio.md").read_text(encoding="utf-8")


def test_every_rule_is_in_the_rule_table() -> None:
    section = DOC[DOC.index("### Rules") : DOC.index("### Thresholds")]
    table_ids = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.M))
    assert table_ids == {r.id for r in RULES}


def test_every_threshold_key_is_documented() -> None:
    for key in [f.name for f in fields(Thresholds)] + sorted(_GLOBAL_KEYS):
        assert re.search(rf"^#? ?{key} = ", DOC, flags=re.M), key


def test_github_actions_example() -> None:
    assert "callplay validate-audio prompts/" in DOC and "--format github" in DOC


def test_pre_commit_hook() -> None:
    hook = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "- id: callplay-validate-audio" in hook and "language: python" in hook
    assert "entry: callplay validate-audio" in hook
    pattern = re.search(r"^\s*files: (.+)$", hook, flags=re.M)
    assert pattern is not None
    files = re.compile(pattern.group(1).strip())
    assert all(files.search(f"prompts/x{ext.upper()}") for ext in AUDIO_EXTENSIONS)
    assert not files.search("prompts/readme.txt")


def test_pre_commit_examples_pin_a_commit_that_ships_the_hook() -> None:
    """`rev:` must exist: there are no release tags, so the examples pin a full SHA of a commit with the hook."""
    import shutil
    import subprocess

    yaml = [DOC, (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")]
    revs = {rev for text in yaml for rev in re.findall(r"(?m)^[#\s]*rev: (\S+)", text)}  # the YAML examples
    revs |= set(re.findall(r"`rev: ([^`]+)`", (ROOT / "README.md").read_text(encoding="utf-8")))
    assert revs and all(re.fullmatch(r"[0-9a-f]{40}", rev) for rev in revs), revs
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return  # an sdist: nothing to look the commit up in
    for rev in revs:
        found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{rev}:.pre-commit-hooks.yaml"], check=False)
        assert found.returncode == 0, f"{rev} has no .pre-commit-hooks.yaml here"


def test_the_speed_table_quotes_a_spread_and_the_command() -> None:
    section = DOC[DOC.index("### Speed\n") :]
    assert "uv run python benchmarks/validate_audio.py" in section
    assert re.search(r"\| [\d.]+ s \[[\d.]+.[\d.]+\] \|", section)  # median [min-max]
