"""Starting the emulator: `callplay emulator serve` in the foreground, and the demo profile's embedded one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callplay.config import DEMO_ACCESS_KEY
from callplay.emulator.app import FACE_NAMES, EmulatorServer, default_faces
from callplay.emulator.state import World
from callplay.errors import UsageError

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
) -> EmulatorSummary:
    """Serve in the foreground until Ctrl-C or SIGTERM; `on_ready` gets the URLs, calls and profiles."""
    unknown = sorted(set(faces or []) - set(FACE_NAMES))
    if unknown:
        raise UsageError(f"unknown face(s): {', '.join(unknown)}", f"faces: {', '.join(FACE_NAMES)}")
    if speed <= 0:
        raise UsageError("--speed must be positive", "1 is real time; 10 runs ten times faster")
    world = World(speed=speed, auto_create=any_call)
    server = EmulatorServer(
        world, default_faces(faces or None), host=host, port=port, tls_port=tls_port, state_dir=state_dir
    )
    created: list[str] = []

    def ready(srv: EmulatorServer) -> None:
        created.extend(world.create_call(call_id).id for call_id in calls)
        created.extend(world.create_call().id for _ in range(n_calls))
        if write_config is not None:
            srv.write_config(write_config)
        on_ready(_ready_info(srv, created, write_config))

    try:
        server.serve_forever(ready)
    except OSError as exc:
        raise UsageError(
            f"cannot serve on {host}:{port}/{tls_port}: {exc.strerror or exc}",
            "choose other ports with --port and --tls-port (0 picks free ones)",
        ) from None
    except KeyboardInterrupt:
        pass
    return EmulatorSummary([f.name for f in server.faces], created)


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
