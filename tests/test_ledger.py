"""The ledger: playbacks and events survive, states move as events say, parallel processes are safe."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from callplay.ledger import Ledger
from callplay.model import Event, Playback


def _pb(control_id: str, call_id: str = "c1") -> Playback:
    return Playback(control_id, call_id, "p", "acs", "requested", ["tts:hi"], extra={"k": "v"})


def test_playback_round_trip_and_event_states(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    ledger.record_playback(_pb("a"))
    ledger.record_event(Event("PlayStarted", "t1", "acs", "c1", "a", "playing"))
    assert ledger.get("a").state == "playing"  # type: ignore[union-attr]
    ledger.record_event(Event("PlayCompleted", "t2", "acs", "c1", "a", "finished"))
    ledger.record_event(Event("PlayStarted", "t3", "acs", "c1", "a", "playing"))  # late duplicate
    record = ledger.get("a")
    assert record is not None and record.state == "finished" and record.extra == {"k": "v"}
    assert [e.type for e in ledger.events(control_id="a")] == ["PlayStarted", "PlayCompleted", "PlayStarted"]


def test_last_for_call_prefers_active(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    ledger.record_playback(_pb("old"))
    ledger.record_playback(_pb("new"))
    ledger.update_playback("new", state="finished")
    assert ledger.last_for_call("c1", "p", active_only=True).control_id == "old"  # type: ignore[union-attr]
    assert ledger.last_for_call("c1", "p").control_id == "new"  # type: ignore[union-attr]
    assert ledger.last_for_call("c2", "p") is None


def _writer(args: tuple[str, int]) -> None:
    path, n = args
    ledger = Ledger(Path(path))
    for i in range(50):
        cid = f"w{n}-{i}"
        ledger.record_playback(_pb(cid, call_id=f"call{n}"))
        ledger.record_event(Event("PlayStarted", "t", "acs", f"call{n}", cid, "playing"))


def test_parallel_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger(path)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_writer, [(str(path), n) for n in range(4)])
    ledger = Ledger(path)
    assert sum(len(ledger.for_call(f"call{n}")) for n in range(4)) == 200
    assert len(ledger.events(limit=1000)) == 200
    assert all(r.state == "playing" for n in range(4) for r in ledger.for_call(f"call{n}"))
