"""The ledger, on SQLite and on PostgreSQL alike (the `state_url` fixture): playbacks and events survive,
states move in event order, each event is recorded once, parallel processes are safe."""

from __future__ import annotations

import multiprocessing
import time

from callplay.ledger import Ledger, Recorded, Refusal
from callplay.model import Event, Playback


def _pb(control_id: str, call_id: str = "c1", provider: str = "acs") -> Playback:
    return Playback(control_id, call_id, "p", provider, "requested", ["tts:hi"], extra={"k": "v"})


def _at(seconds: float) -> str:
    return f"2026-01-01T00:00:{seconds:06.3f}+00:00"


def test_playback_round_trip_and_event_states(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("a"))
    ledger.record_event(Event("PlayStarted", "t1", "acs", "c1", "a", "playing"))
    assert ledger.get("a").state == "playing"  # type: ignore[union-attr]
    ledger.record_event(Event("PlayCompleted", "t2", "acs", "c1", "a", "finished"))
    ledger.record_event(Event("PlayStarted", "t3", "acs", "c1", "a", "playing"))  # late duplicate
    record = ledger.get("a")
    assert record is not None and record.state == "finished" and record.extra == {"k": "v"}
    assert [e.type for e in ledger.events(control_id="a")] == ["PlayStarted", "PlayCompleted", "PlayStarted"]


def test_events_recorded_before_their_playback_set_its_state(state_url: str) -> None:
    # A fast provider's callback reaches `events listen` before `play` has its answer and records the playback.
    ledger = Ledger.at(state_url)
    ledger.record_event(Event("PlayStarted", _at(1), "acs", "c1", "early", "playing"))
    ledger.record_playback(_pb("early"))
    record = ledger.get("early")
    assert record is not None and (record.state, record.last_event) == ("playing", "PlayStarted")
    # An end that arrived first, then an older start: the playback ends where the events say.
    ledger.record_event(Event("PlayCompleted", _at(3), "acs", "c1", "both", "finished"))
    ledger.record_event(Event("PlayStarted", _at(2), "acs", "c1", "both", "playing"))
    ledger.record_playback(_pb("both"))
    assert ledger.get("both").state == "finished"  # type: ignore[union-attr]
    # Another provider's event with the same control ID moves nothing.
    ledger.record_event(Event("finished", _at(1), "signalwire", "c1", "mine", "finished"))
    ledger.record_playback(_pb("mine"))
    assert ledger.get("mine").state == "requested"  # type: ignore[union-attr]


def test_last_for_call_prefers_active(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("old"))
    ledger.record_playback(_pb("new"))
    ledger.update_playback("new", state="finished")
    assert ledger.last_for_call("c1", "p", active_only=True).control_id == "old"  # type: ignore[union-attr]
    assert ledger.last_for_call("c1", "p").control_id == "new"  # type: ignore[union-attr]
    assert ledger.last_for_call("c2", "p") is None
    assert [r.control_id for r in ledger.playbacks()] == ["new", "old"]
    assert [r.control_id for r in ledger.playbacks(active=True)] == ["old"]


def test_recording_a_playback_again_replaces_it(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("a"))
    again = _pb("a")
    again.state = "playing"
    ledger.record_playback(again)
    assert ledger.get("a").state == "playing"  # type: ignore[union-attr]
    assert len(ledger.for_call("c1")) == 1


def test_the_same_event_twice_is_one_row(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("a"))
    event = Event("PlayStarted", _at(1), "acs", "c1", "a", "playing", {"code": 200})
    assert ledger.record_event(event) is True
    assert ledger.record_event(Event(**event.to_dict())) is False
    assert len(ledger.events(control_id="a")) == 1


def test_events_out_of_order_settle_in_event_order(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("a", provider="signalwire"))
    paused = Event("paused", _at(3), "signalwire", "c1", "a", "paused")
    playing = Event("playing", _at(1), "signalwire", "c1", "a", "playing")
    ledger.record_event(paused)
    ledger.record_event(playing)  # older than `paused`, received after it: no effect on the state
    assert ledger.get("a").state == "paused"  # type: ignore[union-attr]
    ledger.record_event(Event("finished", _at(2), "signalwire", "c1", "a", "finished"))  # an end always ends it
    ledger.record_event(Event("playing", _at(9), "signalwire", "c1", "a", "playing"))  # and sticks
    assert ledger.get("a").state == "finished"  # type: ignore[union-attr]
    assert [e.time for e in ledger.events(control_id="a")] == [_at(1), _at(2), _at(3), _at(9)]


def test_a_sequence_orders_events_of_the_same_time(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("a", provider="chime"))
    ledger.record_event(Event("paused", _at(1), "chime", "c1", "a", "paused", {"sequence": 3}))
    ledger.record_event(Event("playing", _at(1), "chime", "c1", "a", "playing", {"sequence": 2}))
    assert ledger.get("a").state == "paused"  # type: ignore[union-attr]


def test_what_callplay_did_is_not_undone_by_an_older_event(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("a", provider="signalwire"))
    ledger.update_playback("a", state="paused")  # `callplay pause`, now
    ledger.record_event(Event("playing", _at(1), "signalwire", "c1", "a", "playing"))  # from 2026-01-01
    assert ledger.get("a").state == "paused"  # type: ignore[union-attr]


def test_a_delivery_is_recorded_once_and_a_foreign_one_refused(state_url: str) -> None:
    ledger = Ledger.at(state_url)
    ledger.record_playback(_pb("a"))
    events = [Event("PlayStarted", _at(1), "acs", "c1", "a", "playing")]
    later = time.time() + 300
    first = ledger.record_delivery("acs", events, ("k1",), later)
    assert isinstance(first, Recorded) and len(first.new) == 1 and not first.duplicate
    again = ledger.record_delivery("acs", events, ("k1",), later)  # the same callback: a retry
    assert isinstance(again, Recorded) and again.duplicate and again.new == []
    resigned = ledger.record_delivery("acs", events, ("k2",), later)  # the same event, signed anew
    assert isinstance(resigned, Recorded) and resigned.new == [] and not resigned.duplicate
    foreign = ledger.record_delivery("chime", [Event("x", _at(2), "chime", "c1", "a", "finished")], ("k3",), later)
    assert isinstance(foreign, Refusal) and foreign.reason == "foreign"
    assert len(ledger.events()) == 1 and ledger.get("a").state == "playing"  # type: ignore[union-attr]
    assert ledger.counts() == {"playbacks": 1, "events": 1, "seen_callbacks": 2}


def _writer(args: tuple[str, int]) -> None:
    url, n = args
    ledger = Ledger.at(url)
    for i in range(50):
        cid = f"w{n}-{i}"
        ledger.record_playback(_pb(cid, call_id=f"call{n}"))
        ledger.record_event(Event("PlayStarted", "t", "acs", f"call{n}", cid, "playing"))


def test_parallel_processes_lose_nothing(state_url: str) -> None:
    Ledger.at(state_url)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_writer, [(state_url, n) for n in range(4)])
    ledger = Ledger.at(state_url)
    assert sum(len(ledger.for_call(f"call{n}")) for n in range(4)) == 200
    assert len(ledger.events(limit=1000)) == 200
    assert all(r.state == "playing" for n in range(4) for r in ledger.for_call(f"call{n}"))
