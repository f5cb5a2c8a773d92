"""Import hygiene: `callplay --help` and `validate-audio --quick` stay light; boto3/httpx only when needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio import gen

HEAVY = {"numpy", "soundfile", "soxr", "boto3", "botocore", "httpx", "scipy"}


def _loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level packages imported by running `code` in a fresh interpreter."""
    script = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return set(proc.stdout.split())


def _run_cli(*args: str) -> str:
    return f"from callplay.cli import main\nassert main({list(args)!r}) in (0, 7)\n"


def test_module_import_is_light() -> None:
    assert not _loaded_after("import callplay.cli.audio") & HEAVY


def test_quick_never_loads_numpy_or_soundfile(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "x.wav", 8000)
    gen.mp3(tmp_path / "y.mp3")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    loaded = _loaded_after(_run_cli("validate-audio", str(path.parent), "--target", "all", "--quick"), env)
    assert "callplay" in loaded and not loaded & HEAVY


def test_full_check_of_local_files_loads_no_network_client(tmp_path: Path) -> None:
    path = gen.write(tmp_path / "x.wav", 8000)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    loaded = _loaded_after(_run_cli("validate-audio", str(path), "--target", "acs", "--format", "github"), env)
    assert "numpy" in loaded and not loaded & {"boto3", "botocore", "httpx", "scipy"}


@pytest.mark.parametrize("explicit", [True, False])
def test_config_guess_matches_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, explicit: bool) -> None:
    """The fast path that skips importing callplay.config must look where callplay.config looks."""
    from callplay import config
    from callplay.audio.commands import config_file_guess

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if explicit:
        monkeypatch.setenv("CALLPLAY_CONFIG", str(tmp_path / "c.toml"))
    else:
        monkeypatch.delenv("CALLPLAY_CONFIG", raising=False)
    path, is_explicit = config_file_guess()
    assert path == config.config_path() and is_explicit == explicit
