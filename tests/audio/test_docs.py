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
