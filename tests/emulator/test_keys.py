"""Where the emulator keeps its TLS CA and generated keys: in its state dir (by default a folder of its own
under callplay's state dir, removed when it stops), never left behind in the system temp dir."""

from __future__ import annotations

import stat
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from callplay.emulator.app import EmulatorServer
from callplay.emulator.state import World
from tests.conftest import spawn_cli, wait_until


def _key_files(config: dict[str, Any]) -> list[Path]:
    vonage = config["profiles"]["emulator-vonage"]
    return [Path(vonage["ca_file"]), Path(vonage["private_key"])]


def _temp_leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("callplay-emulator-*")}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_without_a_state_dir_the_keys_are_temporary_under_callplays_state_dir(tmp_path: Path) -> None:
    # conftest points CALLPLAY_STATE_DIR at tmp_path / "state".
    before = _temp_leftovers()
    server = EmulatorServer(World()).start()
    try:
        files = _key_files(server.config_dict())
        folder = files[0].parent.parent  # <state>/emulator/keys-XXXX/tls/ca.pem
        assert folder.parent == tmp_path / "state" / "emulator"
        assert all(f.is_file() and f.is_relative_to(folder) for f in files)
        assert _mode(folder) == 0o700 and _mode(files[1]) == 0o600
        assert _mode(server.tls.key_file) == 0o600
    finally:
        server.stop()
    assert not folder.exists()
    assert list((tmp_path / "state" / "emulator").iterdir()) == []
    assert _temp_leftovers() <= before


def test_a_given_state_dir_keeps_them(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state"
    with EmulatorServer(World(), state_dir=state) as server:
        files = _key_files(server.config_dict())
    assert [f.parent for f in files] == [state / "tls", state]
    assert all(f.is_file() for f in files)
    assert _mode(state / "tls" / "server.key") == 0o600 and _mode(state / "vonage-private.key") == 0o600


def test_emulator_serve_removes_its_keys_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "emu.toml"
    proc = spawn_cli("emulator", "serve", "--port", "0", "--tls-port", "0", "--write-config", str(config))
    try:
        wait_until(lambda: config.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1]
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        files = _key_files(tomllib.loads(config.read_text()))
        assert all(f.is_file() and f.is_relative_to(tmp_path / "state" / "emulator") for f in files)
        time.sleep(0.2)  # well into serving
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err  # SIGTERM is how a server is told it is done: not an interruption
    assert "Traceback" not in err
    assert not any(f.exists() for f in files)
    assert list((tmp_path / "state" / "emulator").iterdir()) == []
