"""Starting the emulator: `callplay emulator serve` in the foreground, and the demo profile's embedded one."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callplay.config import DEMO_ACCESS_KEY
from callplay.emulator.app import CONFIG_MARKER, FACE_NAMES, EmulatorServer, _bind, default_faces
from callplay.emulator.state import World
from callplay.errors import UsageError
from callplay.fileio import check_output, output_error
from callplay.values import check_count, check_port, check_word, expand_path

if TYPE_CHECKING:
    from callplay.config import Profile


@dataclass
class EmulatorSummary:
    faces: list[str]
    calls: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"faces": self.faces, "calls": self.calls}

    def to_tables(self) -> list[Any]:
        return []


CONFIG_OPTION = {"option": "--write-config", "example": "emulator.toml"}


def start_embedded(profile: Profile) -> EmulatorServer:
    """The demo profile's emulator: in this process, accepting any call id, at real-time speed."""
    world = World(auto_create=True)
    world.credentials["acs"] = {"access_key": profile.get("access_key") or DEMO_ACCESS_KEY}
    return EmulatorServer(world, default_faces(["acs"]), tls_port=None).start()


def serve_emulator(
    *,
    host: str,
    port: int,
    tls_port: int | None,
    faces: list[str] | None,
    calls: list[str],
    n_calls: int,
    any_call: bool,
    speed: float,
    write_config: Path | None,
    state_dir: Path | None,
    on_ready: Callable[[dict[str, Any]], None],
    force: bool = False,
) -> EmulatorSummary:
    """Serve in the foreground until Ctrl-C or SIGTERM; `on_ready` gets the URLs, calls and profiles."""
    _check_arguments(host, port, tls_port, faces, calls, n_calls, speed)
    # `--write-config=~/emu.toml` reaches us unexpanded (a shell expands ~ only at the start of a word).
    write_config = expand_path(str(write_config), "--write-config") if write_config is not None else None
    state_dir = expand_path(str(state_dir), "--state-dir") if state_dir is not None else None
    if write_config is not None:  # a directory or a missing folder: exit 2 now, before anything binds
        check_output(write_config, **CONFIG_OPTION)
        if not force:
            _check_own_config(write_config)
    _check_ports_free(host, port, tls_port)
    world = World(speed=speed, auto_create=any_call)
    server = EmulatorServer(
        world, default_faces(faces or None), host=host, port=port, tls_port=tls_port, state_dir=state_dir
    )
    created: list[str] = []

    def ready(srv: EmulatorServer) -> None:
        created.extend(world.create_call(call_id).id for call_id in calls)
        created.extend(world.create_call().id for _ in range(n_calls))
        if write_config is not None:
            try:
                srv.write_config(write_config)
            except OSError as exc:  # not a port in use: serve_forever's OSError below
                raise output_error(write_config, exc, **CONFIG_OPTION) from None
        on_ready(_ready_info(srv, created, write_config))

    try:
        server.serve_forever(ready)
    except OSError as exc:  # a port taken since _check_ports_free
        raise UsageError(f"cannot serve on {host}:{port}/{tls_port}: {exc.strerror or exc}", PORT_HINT) from None
    except KeyboardInterrupt:
        pass
    return EmulatorSummary([f.name for f in server.faces], created)


# More simulated calls than anyone could address is a typo (and would keep the emulator from starting).
MAX_CALLS = 100_000
MAX_SPEED = 1_000_000.0  # simulated seconds per real second: beyond this every playback ends at once


def _check_arguments(
    host: str, port: int, tls_port: int | None, faces: list[str] | None, calls: list[str], n_calls: int, speed: float
) -> None:
    """Every argument in range before anything binds, so a mistake is exit 2 at once, never a hang or a crash."""
    unknown = sorted(set(faces or []) - set(FACE_NAMES))
    if unknown:
        raise UsageError(f"unknown face(s): {', '.join(map(repr, unknown))}", f"faces: {', '.join(FACE_NAMES)}")
    check_word(host, "--host")
    check_port(port, "--port")
    if tls_port is not None:
        check_port(tls_port, "--tls-port")
    if port and port == tls_port:
        raise UsageError(f"--port and --tls-port are both {port}", "give two different ports (or 0 for free ones)")
    for call_id in calls:
        check_word(call_id, "--call")
    check_count(n_calls, "--calls", maximum=MAX_CALLS)
    if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):  # nan compares false: it would never advance
        raise UsageError(
            f"--speed {speed:g} is not a positive number up to {MAX_SPEED:g}",
            "1 is real time; 10 runs ten times faster",
        )


PORT_HINT = "choose other ports with --port and --tls-port (0 picks free ones)"


def _check_ports_free(host: str, port: int, tls_port: int | None) -> None:
    """Bind each port once (and let it go) before serving, so that the error names the port in use. The server
    binds its ports one after the other: a TLS port in use left the first one's server never started, and
    Python warned about it on the way out (coroutine 'Server.serve' was never awaited)."""
    for option, number in (("--port", port), ("--tls-port", tls_port)):
        if not number:  # None (no TLS) or 0 (a free port: always there)
            continue
        try:
            _bind(host, number).close()
        except OSError as exc:
            raise UsageError(f"cannot serve on {host}:{number} ({option}): {exc.strerror or exc}", PORT_HINT) from None


def _check_own_config(path: Path) -> None:
    """Refuse to replace a config the emulator did not write (its first line is CONFIG_MARKER): a user's
    hand-written config would be lost. An empty file, a FIFO or /dev/stdout is written as before."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return
        with path.open("rb") as stream:
            first = stream.readline(200)
    except OSError:
        return  # what cannot be read is refused (or not) by the write itself, with its own message
    if not first.startswith(CONFIG_MARKER.encode()):
        raise UsageError(
            f"--write-config {path} is a file emulator serve did not write; not replacing it",
            f"choose another path, or pass --force to replace {path} (its contents are lost)",
        )


def _ready_info(srv: EmulatorServer, created: list[str], write_config: Path | None) -> dict[str, Any]:
    return {
        "faces": [f.name for f in srv.faces],
        "http": srv.http_url,
        "https": srv.https_url,
        "ca_file": str(srv.tls.ca_file) if srv.tls else None,
        "calls": created,
        "config": str(write_config) if write_config else None,
        "profiles": list(srv.config_dict()["profiles"]),
    }
