"""emulator serve --write-config replaces only a config it wrote itself (marker on the first line)."""

from __future__ import annotations

from pathlib import Path

from callplay.emulator.app import CONFIG_MARKER, EmulatorServer
from callplay.emulator.serve import _check_own_config
from tests.conftest import run_cli

HAND_WRITTEN = '# my own profiles\ndefault_profile = "prod"\n[profiles.prod]\nprovider = "acs"\n'


def test_a_hand_written_config_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    result = run_cli("emulator", "serve", "--port", "0", "--tls-port", "0", "--write-config", str(path))
    assert result.exit_code == 2, result.stderr
    assert "error: --write-config" in result.stderr
    assert "hint: " in result.stderr and "--force" in result.stderr
    assert path.read_text() == HAND_WRITTEN


def test_its_own_config_is_recognised(emulator: EmulatorServer, tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    emulator.write_config(path)
    assert path.read_text().startswith(CONFIG_MARKER)
    _check_own_config(path)  # no error: serve may replace it


def test_an_empty_or_missing_file_may_be_written(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    _check_own_config(empty)
    _check_own_config(tmp_path / "missing.toml")
