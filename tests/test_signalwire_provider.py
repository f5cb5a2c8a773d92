"""SignalWireProvider through the real signalwire-sdk against the emulator's SignalWire face.

Nothing is patched: the provider builds a RestClient, the SDK speaks HTTP to the in-process emulator, and the
assertions read the emulator's record of the call (/_emulator/calls/{id}) and the events it posted.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callplay.core.checks import check_request
from callplay.emulator.app import EmulatorServer
from callplay.errors import ExitCode, ProviderRejected, ProviderUnavailable, UnsupportedError, UsageError
from callplay.events.receiver import EventReceiver
from callplay.ledger import Ledger
from callplay.model import Audio, PlaybackRecord, PlayRequest, Silence, Ssml, Tts
from callplay.providers.signalwire import SignalWireProvider, SignalWireSettings
from tests.conftest import emulator_call, emulator_playbacks, media_url, wait_until, web

PROFILE = "emulator-signalwire"


def profile_table(emulator: EmulatorServer) -> dict[str, Any]:
    return dict(emulator.config_dict()["profiles"][PROFILE])


def settings_for(emulator: EmulatorServer, **changes: Any) -> SignalWireSettings:
    table = {k: v for k, v in profile_table(emulator).items() if k != "provider"}
    table.update(changes)
    return SignalWireSettings(**table)


@pytest.fixture
def provider(emulator: EmulatorServer) -> Iterator[SignalWireProvider]:
    p = SignalWireProvider(settings_for(emulator), profile=PROFILE)
    yield p
    p.close()


@pytest.fixture
def receiver(emulator: EmulatorServer, tmp_path: Path) -> Iterator[EventReceiver]:
    """callplay's own webhook receiver, checking signatures with the emulator's signing key."""
    key = profile_table(emulator)["signing_key"]
    r = EventReceiver(Ledger(tmp_path / "ledger.sqlite3"), secrets={"signalwire": key}).start()
    yield r
    r.stop()


def playback(emulator: EmulatorServer, call_id: str, control_id: str) -> dict[str, Any]:
    matches = emulator_playbacks(emulator, call_id, control_id)
    assert matches, f"the emulator has no playback {control_id} on {call_id}"
    return matches[-1]


def wait_state(emulator: EmulatorServer, call_id: str, control_id: str, state: str) -> dict[str, Any]:
    return dict(wait_until(lambda: (pb := playback(emulator, call_id, control_id)) and pb["state"] == state and pb))


def long_play(**kw: Any) -> PlayRequest:
    """A play that outlasts the test (600 simulated seconds of silence) unless it is stopped."""
    return PlayRequest(items=[Silence(600)], **kw)


def states(history: list[dict[str, Any]]) -> list[str]:
    return [h["state"] for h in history if "volume_db" not in h]


# ------------------------------------------------------------------------------------------------ play


def test_play_sends_every_item_kind_with_volume_direction_and_loop(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    request = PlayRequest(
        items=[Audio(media_url(emulator)), Tts("Please hold the line"), Silence(1.5)],
        volume_db=-3,
        direction="both",
        loop=2,
    )
    pb = provider.play(call_id, request)

    assert (pb.state, pb.control_id, pb.provider) == ("requested", request.control_id, "signalwire")
    assert pb.sources == [media_url(emulator), "tts:Please hold the line", "silence:1.5"]
    sim = wait_state(emulator, call_id, request.control_id, "playing")
    assert [i["kind"] for i in sim["items"]] == ["audio", "tts", "silence"]
    assert sim["items"][0]["duration_s"] == pytest.approx(2.0)  # the 2 s prompt, measured from the file
    assert sim["items"][1]["duration_s"] == pytest.approx(len("Please hold the line") / 15, abs=0.01)
    assert sim["items"][2]["duration_s"] == 1.5
    assert (sim["volume_db"], sim["loop"], sim["detail"]["direction"]) == (-3.0, 2, "both")
    provider.stop(call_id, control_id=request.control_id, record=None)


def test_tts_defaults_go_at_request_level_and_items_override_them(emulator: EmulatorServer, call_id: str) -> None:
    settings = settings_for(emulator, language="de-DE", gender="male", voice="gcloud.de-DE-Wavenet-B")
    p = SignalWireProvider(settings, profile=PROFILE)
    request = long_play()
    request.items = [Tts("Hallo"), Tts("Hello", language="en-GB", gender="female"), Silence(600)]
    body = p.describe_play(call_id, request)["body"]["params"]
    assert (body["language"], body["gender"], body["voice"]) == ("de-DE", "male", "gcloud.de-DE-Wavenet-B")

    p.play(call_id, request)
    items = wait_state(emulator, call_id, request.control_id, "playing")["items"]
    assert (items[0]["language"], items[0]["gender"], items[0]["voice"]) == ("de-DE", "male", "gcloud.de-DE-Wavenet-B")
    assert (items[1]["language"], items[1]["gender"]) == ("en-GB", "female")
    p.stop(call_id, control_id=request.control_id, record=None)
    p.close()


def test_ringtone_option_is_appended_as_an_item(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    request = PlayRequest(items=[Silence(1)], options={"ringtone": "uk:2.5"}, loop=0)
    pb = provider.play(call_id, request)
    assert pb.sources == ["silence:1", "ringtone:uk:2.5"]
    sim = wait_state(emulator, call_id, request.control_id, "playing")
    assert sim["items"][1] == {"kind": "ringtone", "duration_s": 2.5, "name": "uk"}
    provider.stop(call_id, control_id=request.control_id, record=None)


@pytest.mark.parametrize("value", ["xx", "us:soon", "us:-1"])
def test_bad_ringtone_is_a_usage_error(provider: SignalWireProvider, call_id: str, value: str) -> None:
    with pytest.raises(UsageError) as err:
        provider.play(call_id, PlayRequest(items=[Silence(1)], options={"ringtone": value}))
    assert err.value.hint


def test_loop_count_is_honoured(emulator: EmulatorServer, provider: SignalWireProvider, call_id: str) -> None:
    request = PlayRequest(items=[Silence(1), Tts("hi")], loop=3)
    provider.play(call_id, request)
    sim = wait_state(emulator, call_id, request.control_id, "finished")
    assert sim["rounds_completed"] == 3
    assert sim["position_s"] == pytest.approx(3 * sim["round_s"], abs=0.01)


def test_loop_forever_is_sent_as_zero_and_runs_until_stopped(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    request = PlayRequest(items=[Silence(0.5)], loop=0)
    assert provider.describe_play(call_id, request)["body"]["params"]["loop"] == 0
    provider.play(call_id, request)
    wait_until(lambda: playback(emulator, call_id, request.control_id)["rounds_completed"] >= 5)
    assert playback(emulator, call_id, request.control_id)["state"] == "playing"
    result = provider.stop(call_id, control_id=request.control_id, record=None)
    assert result.state == "stopped"
    assert playback(emulator, call_id, request.control_id)["state"] == "canceled"


# ------------------------------------------------------------------------------------------- control


def test_pause_keeps_the_position_and_resume_finishes_at_the_full_length(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    request = PlayRequest(items=[Silence(40)])  # 40 simulated seconds: 2 s of real time at 20x
    provider.play(call_id, request)
    wait_state(emulator, call_id, request.control_id, "playing")
    paused = provider.pause(call_id, control_id=request.control_id, record=None)
    assert (paused.action, paused.state, paused.control_id) == ("pause", "paused", request.control_id)

    at_pause = wait_state(emulator, call_id, request.control_id, "paused")["position_s"]
    time.sleep(0.3)  # 6 simulated seconds pass while paused...
    assert playback(emulator, call_id, request.control_id)["position_s"] == at_pause  # ...and none are played
    assert 0 <= at_pause < 40

    resumed = provider.resume(call_id, control_id=request.control_id, record=None)
    assert resumed.state == "playing"
    done = wait_state(emulator, call_id, request.control_id, "finished")
    assert states(done["history"]) == ["playing", "paused", "playing", "finished"]
    resume_entry = [h for h in done["history"] if h["state"] == "playing"][1]
    assert resume_entry["position_s"] == pytest.approx(at_pause, abs=0.001)  # continues from where it paused
    assert done["position_s"] == pytest.approx(40.0)
    assert done["rounds_completed"] == 1


def test_volume_during_play_is_tracked(emulator: EmulatorServer, provider: SignalWireProvider, call_id: str) -> None:
    request = long_play(volume_db=2)
    provider.play(call_id, request)
    record = PlaybackRecord(request.control_id, call_id, PROFILE, "signalwire", "playing", [], 1, 2.0, "", "", None)
    result = provider.volume(call_id, control_id=request.control_id, db=-6, record=record)
    assert (result.action, result.volume_db, result.state) == ("volume", -6.0, "playing")
    sim = playback(emulator, call_id, request.control_id)
    assert sim["volume_db"] == -6.0
    assert [h["volume_db"] for h in sim["history"] if "volume_db" in h] == [-6.0]
    provider.stop(call_id, control_id=request.control_id, record=None)


def test_two_plays_on_one_call_are_controlled_independently(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    a, b = long_play(), long_play()
    provider.play(call_id, a)
    provider.play(call_id, b)
    wait_state(emulator, call_id, a.control_id, "playing")
    wait_state(emulator, call_id, b.control_id, "playing")

    provider.pause(call_id, control_id=a.control_id, record=None)
    provider.volume(call_id, control_id=b.control_id, db=-10, record=None)
    assert playback(emulator, call_id, a.control_id)["state"] == "paused"
    assert playback(emulator, call_id, b.control_id)["state"] == "playing"
    assert playback(emulator, call_id, a.control_id)["volume_db"] == 0.0
    assert playback(emulator, call_id, b.control_id)["volume_db"] == -10.0

    provider.stop(call_id, control_id=b.control_id, record=None)
    assert playback(emulator, call_id, b.control_id)["state"] == "canceled"
    assert playback(emulator, call_id, a.control_id)["state"] == "paused"
    provider.resume(call_id, control_id=a.control_id, record=None)
    assert playback(emulator, call_id, a.control_id)["state"] == "playing"
    provider.stop(call_id, control_id=a.control_id, record=None)


def test_stop_without_a_control_id_uses_the_ledger_record_or_asks_for_one(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    request = long_play()
    provider.play(call_id, request)
    record = PlaybackRecord(request.control_id, call_id, PROFILE, "signalwire", "playing", [], 1, None, "", "", None)
    assert provider.stop(call_id, control_id=None, record=record).control_id == request.control_id
    assert playback(emulator, call_id, request.control_id)["state"] == "canceled"
    with pytest.raises(UsageError) as err:
        provider.stop(call_id, control_id=None, record=None)
    assert "--control-id" in (err.value.hint or "")


# ------------------------------------------------------------------------------------------- refusals


def test_stop_of_its_own_playback_that_ended_is_no_error(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    """SignalWire answers 422 on control_id once the play is over; for a playback the ledger knows (callplay
    started it on this call) that means it ended: nothing is playing, as stop wants (exit 0 on every provider)."""
    from callplay.ledger import Ledger

    request = PlayRequest(items=[Silence(0.2)])
    pb = provider.play(call_id, request)
    ledger = Ledger.default()
    ledger.record_playback(pb)
    wait_state(emulator, call_id, request.control_id, "finished")
    result = provider.stop(call_id, control_id=request.control_id, record=ledger.get(request.control_id))
    assert (result.state, result.control_id) == ("finished", request.control_id)
    assert result.detail["note"] == f"playback {request.control_id} had already ended: nothing was playing to stop"
    assert result.still_playing == []


def test_unknown_control_id_is_rejected_with_the_providers_message(provider: SignalWireProvider, call_id: str) -> None:
    for verb in ("pause", "resume", "stop"):
        with pytest.raises(ProviderRejected) as err:
            getattr(provider, verb)(call_id, control_id="cp-000000000000", record=None)
        assert "control_id does not match an active play on this call" in err.value.message
        assert err.value.exit_code == ExitCode.REJECTED


def test_unknown_call_is_rejected_naming_the_call(provider: SignalWireProvider) -> None:
    with pytest.raises(ProviderRejected) as err:
        provider.play("call-that-never-was", long_play())
    assert "call-that-never-was" in err.value.message
    assert "404" in err.value.message


def test_wrong_token_is_an_authentication_failure_that_never_shows_the_token(
    emulator: EmulatorServer, call_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = profile_table(emulator)["token"]
    # The SDK's env fallbacks must not rescue (or override) the profile's credentials.
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", good)
    p = SignalWireProvider(settings_for(emulator, token="PTwrong-token-value"), profile=PROFILE)
    with pytest.raises(ProviderRejected) as err:
        p.play(call_id, long_play())
    assert "authentication failed" in err.value.message
    assert err.value.exit_code == ExitCode.REJECTED
    text = f"{err.value.message} {err.value.hint}"
    assert "PTwrong-token-value" not in text and good not in text
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_volume_outside_the_range_is_a_usage_error_and_nothing_is_sent(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    request = long_play()
    provider.play(call_id, request)
    wait_state(emulator, call_id, request.control_id, "playing")
    for db in (50.0, -40.5, float("nan")):
        with pytest.raises(UsageError):
            provider.volume(call_id, control_id=request.control_id, db=db, record=None)
    with pytest.raises(UsageError):
        provider.play(call_id, long_play(volume_db=50))
    sim_call = emulator_call(emulator, call_id)
    assert len(sim_call["playbacks"]) == 1  # the refused play never reached the emulator
    sim = sim_call["playbacks"][0]
    assert sim["volume_db"] == 0.0 and not [h for h in sim["history"] if "volume_db" in h]
    provider.stop(call_id, control_id=request.control_id, record=None)


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (PlayRequest(items=[Ssml("<speak>hi</speak>")]), "SSML"),
        (PlayRequest(items=[Silence(1)], targets=["4:+14255550123"]), "--direction"),
        (PlayRequest(items=[Audio("/tmp/prompt.wav")]), "local file"),
        (PlayRequest(items=[Audio("s3://bucket/prompt.wav")]), "s3://"),
        (PlayRequest(items=[Silence(1)], cache_id="c1"), "cache"),
        (PlayRequest(items=[Silence(1)], interrupt=True), "stop"),
        (PlayRequest(items=[Silence(1)], options={"style": "2"}), "style"),
    ],
)
def test_what_signalwire_cannot_do_is_unsupported_and_names_it(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str, request_: PlayRequest, words: str
) -> None:
    with pytest.raises(UnsupportedError) as err:
        check_request(provider, request_, wait=False)  # the core refuses what the capabilities do not declare
        provider.play(call_id, request_)
    assert err.value.exit_code == ExitCode.UNSUPPORTED
    assert "SignalWire" in err.value.message
    assert words in f"{err.value.message} {err.value.hint}"
    assert emulator_call(emulator, call_id)["playbacks"] == []


@pytest.mark.parametrize(
    "request_",
    [
        PlayRequest(items=[Silence(1)], direction="sideways"),
        PlayRequest(items=[Tts("hi", gender="robot")]),
        PlayRequest(items=[Silence(0)]),
        PlayRequest(items=[Tts("   ")]),
        PlayRequest(items=[Silence(1)], loop=-1),
    ],
)
def test_bad_values_are_usage_errors_before_sending(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str, request_: PlayRequest
) -> None:
    with pytest.raises(UsageError):
        provider.play(call_id, request_)
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_refused_connection_is_unavailable(emulator: EmulatorServer, call_id: str) -> None:
    with socket_on_free_port() as port:  # bound, never listening: connections are refused
        p = SignalWireProvider(settings_for(emulator, space=f"127.0.0.1:{port}"), profile=PROFILE)
        with pytest.raises(ProviderUnavailable) as err:
            p.play(call_id, long_play())
    assert err.value.exit_code == ExitCode.UNAVAILABLE
    # Nothing was sent, so callplay tried again (callplay/retry.py) before reporting it.
    assert err.value.message == f"SignalWire at 127.0.0.1:{port} did not answer: Connection refused, after 3 attempts"


def test_an_answer_slower_than_the_timeout_is_unavailable(emulator: EmulatorServer, call_id: str) -> None:
    web.post(f"{emulator.http_url}/_emulator/faults", json={"latency_ms": 1500})
    p = SignalWireProvider(settings_for(emulator, timeout=0.3), profile=PROFILE)
    with pytest.raises(ProviderUnavailable) as err:
        p.status(call_id)
    assert "timed out" in err.value.message
    assert "timeout" in (err.value.hint or "")


def test_server_errors_and_rate_limits_are_unavailable(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    web.post(f"{emulator.http_url}/_emulator/faults", json={"error_rate": 1.0, "error_status": 500})
    with pytest.raises(ProviderUnavailable) as err:
        provider.play(call_id, long_play())
    assert "500" in err.value.message
    # A Retry-After beyond what callplay waits for (callplay/retry.py) is reported at once, with when to retry.
    web.post(f"{emulator.http_url}/_emulator/faults", json={"error_rate": 0.0, "rate_limit": 1, "retry_after": 70})
    with pytest.raises(ProviderUnavailable) as err:
        provider.play(call_id, long_play())
    assert "429" in err.value.message and err.value.hint == "retry in 70 s"


# ---------------------------------------------------------------------------------------- status, dry-run


def test_status_reads_the_voice_log(emulator: EmulatorServer, provider: SignalWireProvider, call_id: str) -> None:
    status = provider.status(call_id)
    assert (status.call_id, status.provider, status.state) == (call_id, "signalwire", "in-progress")
    assert status.detail["type"] == "relay_pstn_call"
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    assert provider.status(call_id).state == "completed"
    with pytest.raises(ProviderRejected) as err:
        provider.status("no-such-call")
    assert "no-such-call" in err.value.message


def test_describe_play_is_the_request_without_credentials(
    emulator: EmulatorServer, provider: SignalWireProvider, call_id: str
) -> None:
    request = PlayRequest(items=[Tts("hello")], volume_db=-6, callback_url="https://cb.example/sw")
    described = provider.describe_play(call_id, request)
    table = profile_table(emulator)
    assert described["method"] == "POST" and described["path"] == "/api/calling/calls"
    assert described["url"] == f"http://{table['space']}/api/calling/calls"  # loopback: plain http, like the SDK
    assert described["body"] == {
        "command": "calling.play",
        "id": call_id,
        "params": {
            "control_id": request.control_id,
            "play": [{"type": "tts", "params": {"text": "hello"}}],
            "volume": -6.0,
            "loop": 1,
            "status_url": "https://cb.example/sw",
        },
    }
    text = repr(described)
    assert table["token"] not in text and table["project"] not in text and table["signing_key"] not in text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("example.signalwire.com", "example.signalwire.com"),
        ("https://example.signalwire.com/", "example.signalwire.com"),
        ("http://127.0.0.1:8780", "127.0.0.1:8780"),
        (" 127.0.0.1:8780 ", "127.0.0.1:8780"),
    ],
)
def test_space_is_a_bare_host(given: str, expected: str) -> None:
    assert SignalWireSettings(space=given, project="p", token="t").space == expected


@pytest.mark.parametrize(
    "given", ["https://example.signalwire.com/api", "http://example.signalwire.com", "ftp://x", ""]
)
def test_space_that_the_sdk_would_misuse_is_refused(given: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SignalWireSettings(space=given, project="p", token="t")


# -------------------------------------------------------------------------------------------------- events


def test_status_url_events_arrive_signed_and_in_order(
    emulator: EmulatorServer, provider: SignalWireProvider, receiver: EventReceiver, call_id: str
) -> None:
    request = PlayRequest(items=[Silence(20)], callback_url=receiver.url("signalwire"))
    provider.play(call_id, request)
    wait_state(emulator, call_id, request.control_id, "playing")
    provider.pause(call_id, control_id=request.control_id, record=None)
    provider.resume(call_id, control_id=request.control_id, record=None)
    events, finished = receiver.wait_for(request.control_id, 30)

    assert finished and receiver.rejected == 0
    assert [e.type for e in events] == ["playing", "paused", "playing", "finished"]
    assert [e.state for e in events] == ["playing", "paused", "playing", "finished"]
    assert {(e.call_id, e.provider) for e in events} == {(call_id, "signalwire")}
    assert all(e.detail.get("node_id") for e in events)


def test_stop_is_reported_as_finished(
    emulator: EmulatorServer, provider: SignalWireProvider, receiver: EventReceiver, call_id: str
) -> None:
    request = long_play(callback_url=receiver.url("signalwire"))
    provider.play(call_id, request)
    wait_state(emulator, call_id, request.control_id, "playing")
    provider.stop(call_id, control_id=request.control_id, record=None)
    events, finished = receiver.wait_for(request.control_id, 30)
    assert finished and [e.state for e in events] == ["playing", "finished"]


@pytest.mark.parametrize("media", ["missing.wav", "junk.wav"])
def test_unplayable_audio_ends_in_an_error_event_not_an_http_error(
    emulator: EmulatorServer, provider: SignalWireProvider, receiver: EventReceiver, call_id: str, media: str
) -> None:
    if media == "junk.wav":
        web.put(f"{emulator.http_url}/_emulator/media/{media}", content=b"<html>not audio</html>").raise_for_status()
    request = PlayRequest(items=[Audio(media_url(emulator, media))], callback_url=receiver.url("signalwire"))
    pb = provider.play(call_id, request)  # SignalWire answers 200 and reports the failure by webhook
    assert pb.state == "requested"
    events, finished = receiver.wait_for(request.control_id, 30)
    assert finished and [(e.type, e.state) for e in events] == [("error", "failed")]
    sim = playback(emulator, call_id, request.control_id)
    assert sim["state"] == "failed" and sim["history"][-1]["error"]


def test_callbacks_signed_with_another_key_are_rejected(
    emulator: EmulatorServer, provider: SignalWireProvider, tmp_path: Path, call_id: str
) -> None:
    r = EventReceiver(Ledger(tmp_path / "l.sqlite3"), secrets={"signalwire": "PSK_not_the_right_key"}).start()
    try:
        request = PlayRequest(items=[Silence(1)], callback_url=r.url("signalwire"))
        provider.play(call_id, request)
        wait_state(emulator, call_id, request.control_id, "finished")
        wait_until(lambda: r.rejected >= 2)
        assert r.events == []
    finally:
        r.stop()


# --------------------------------------------------------------------------------------------- packaging


def test_importing_the_signalwire_modules_does_not_import_the_sdk() -> None:
    code = (
        "import sys; import callplay.providers.signalwire, callplay.emulator.signalwire, "
        "callplay.events.signalwire; print(sorted(m for m in sys.modules if m.split('.')[0] == 'signalwire'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_capabilities_declare_native_control() -> None:
    caps = SignalWireProvider.capabilities
    assert {"play", "loop", "stop", "pause", "resume", "volume", "status"} <= caps.verbs
    assert caps.loop_forever and caps.loop_count and caps.volume_at_start and "volume" in caps.verbs
    assert caps.silence and caps.multi_items and caps.events and "status" in caps.verbs
    assert not caps.ssml and not caps.targets
    assert "--direction" in caps.notes["targets"]


class socket_on_free_port:
    """A port that is bound but not listening, so a connection to it is refused."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
