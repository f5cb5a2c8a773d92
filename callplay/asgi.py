"""What callplay's two uvicorn servers (the emulator, callplay.emulator.app; the event receiver,
callplay.events.receiver) have in common."""

from __future__ import annotations

from typing import Any

# Plain HTTP/1.1 only: neither serves WebSockets, and naming the protocols spares uvicorn's start-up its search
# (with ws="auto" it imports the websockets package, some 50 ms at every `play --wait` and demo run).
QUIET_START: dict[str, Any] = {"http": "h11", "ws": "none"}
