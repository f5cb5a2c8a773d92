"""EmulatorServer's own life cycle: it stops at once, whatever its clients leave open."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from callplay.emulator.app import EmulatorServer
from callplay.emulator.state import World
from tests.conftest import tls_context


def test_stop_is_prompt_with_an_idle_tls_connection_open(tmp_path: Path) -> None:
    # A client idling in its pool never answers the TLS close_notify: stop() used to wait out its 10 s join.
    server = EmulatorServer(World(), state_dir=tmp_path).start()
    assert server.https_url is not None and server.tls is not None
    client = httpx.Client(verify=tls_context(str(server.tls.ca_file)))
    try:
        assert client.get(f"{server.https_url}/_emulator/calls").status_code == 200
        assert client.get(f"{server.http_url}/_emulator/calls").status_code == 200
        thread = server._thread
        assert thread is not None
        started = time.monotonic()
        server.stop()
        took = time.monotonic() - started
        assert not thread.is_alive()
        assert took < 3, f"stop() took {took:.1f} s"
    finally:
        client.close()
