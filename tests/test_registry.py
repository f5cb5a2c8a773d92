"""The provider registry is the one list of providers: every other list derives from it, or is held to it here.

Adding a provider (docs/adding-a-provider.md) is its modules plus one registry line; these tests fail when
a list somewhere (audio targets, emulator faces, completion choices, help, docs) no longer matches.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from callplay.audio import TARGETS
from callplay.audio.rules import parse_targets, targets_table
from callplay.emulator.app import FACE_NAMES, default_faces
from callplay.errors import ConfigError
from callplay.providers import PROVIDER_NAMES, REGISTRY, provider_class, provider_facts
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_registry_names_four_providers_once_each() -> None:
    assert PROVIDER_NAMES == ("acs", "signalwire", "vonage", "chime")
    assert len(set(PROVIDER_NAMES)) == len(REGISTRY)


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_each_provider_has_its_modules(name: str) -> None:
    cls = provider_class(name)
    facts = provider_facts(name)
    assert cls.name == facts.name == name
    assert cls.display_name == facts.display_name
    assert importlib.import_module(f"callplay.events.{name}")
    assert (ROOT / "docs" / f"{name}.md").is_file()
    assert f"### {facts.display_name}" in README


def test_an_unknown_provider_lists_the_registry() -> None:
    with pytest.raises(ConfigError) as err:
        provider_class("twilio")
    assert err.value.hint == f"valid providers: {', '.join(PROVIDER_NAMES)}"


def test_audio_targets_are_the_providers() -> None:
    assert TARGETS == PROVIDER_NAMES
    assert parse_targets(["all"]) == list(PROVIDER_NAMES)


def test_emulator_faces_are_the_providers() -> None:
    """The emulator keeps its own list (it imports nothing from callplay.providers): held to the registry."""
    assert FACE_NAMES == PROVIDER_NAMES
    assert [face.name for face in default_faces()] == list(PROVIDER_NAMES)


def test_completion_choices_are_the_providers() -> None:
    from callplay.completions import VALUE_CHOICES

    assert VALUE_CHOICES["--target"].split() == [*PROVIDER_NAMES, "all"]
    assert VALUE_CHOICES["--face"].split() == list(PROVIDER_NAMES)
    for shell in ("bash", "zsh", "fish"):
        script = (ROOT / "completions" / f"callplay.{shell}").read_text(encoding="utf-8")
        assert " ".join(PROVIDER_NAMES) in script, shell


def test_help_names_every_provider() -> None:
    target_help = run_cli("validate-audio", "--help").stdout
    face_help = run_cli("emulator", "serve", "--help").stdout
    call_help = " ".join(run_cli("play", "--help").stdout.split())
    for name in PROVIDER_NAMES:
        assert name in target_help and name in face_help
        assert provider_facts(name).call_id_name in call_help, name


def test_docs_tables_derive_from_the_registry() -> None:
    doc = (ROOT / "docs" / "validate-audio.md").read_text(encoding="utf-8")
    assert targets_table() in doc
    assert "`--target` takes " + ", ".join(f"`{n}`" for n in PROVIDER_NAMES) in doc
    matrix = README[README.index("## Providers") :]
    header = next(line for line in matrix.splitlines() if line.startswith("| capability |"))
    assert [cell.strip() for cell in header.strip("|").split("|")][1:] == [
        provider_facts(n).short_name for n in PROVIDER_NAMES
    ]


# ------------------------------------------------------------------------------ no copies of the list

_NAMES = "|".join(PROVIDER_NAMES)
# Three or more provider names in a row (quoted or not, separated by commas, spaces or pipes): a copied list.
_LIST = re.compile(rf"""["'`]?\b({_NAMES})\b["'`]?(?:[\s,|/]+["'`]?\b({_NAMES})\b["'`]?){{2,}}""")
# The registry itself, and the emulator's own list (held to it above).
_ALLOWED = {Path("callplay/providers/__init__.py"), Path("callplay/emulator/app.py")}


def test_no_other_module_lists_the_providers() -> None:
    offenders = []
    for path in sorted((ROOT / "callplay").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel in _ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _LIST.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []


def test_the_core_never_compares_a_provider_name() -> None:
    for path in sorted((ROOT / "callplay" / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in PROVIDER_NAMES:
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno} names the provider {node.value!r}")


def test_nothing_in_the_repo_reads_outside_it() -> None:
    # The team's notes beside the repo are not in a user's clone. Split so that this file does not match itself.
    outside = re.compile(r"(\.\./|/work/)" + "shared|" + r"providers\.md|DESIGN" + r"\.md")
    files = [
        *ROOT.joinpath("callplay").rglob("*"),
        *ROOT.joinpath("tests").rglob("*"),
        *ROOT.joinpath("benchmarks").rglob("*"),
        *ROOT.joinpath("docs").rglob("*"),
        *ROOT.joinpath(".ci").rglob("*"),
        ROOT / "README.md",
        ROOT / "pyproject.toml",
    ]
    hits = [
        str(f.relative_to(ROOT))
        for f in files
        if f.is_file() and "__pycache__" not in f.parts and outside.search(f.read_text(errors="replace"))
    ]
    assert hits == []
