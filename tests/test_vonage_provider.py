"""VonageProvider through the real vonage-voice SDK against the emulator's Vonage face (TLS, RS256 JWTs).

Nothing is patched: the provider builds the SDK's HttpClient, the SDK speaks https to the in-process emulator,
and the assertions read the emulator's record of the call (/_emulator/calls/{id}).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callplay.core.checks import check_request, check_verb
from callplay.emulator.app import EmulatorServer
from callplay.errors import ConfigError, ProviderRejected, ProviderUnavailable, UnsupportedError, UsageError
from callplay.model import Audio, PlaybackRecord, PlayRequest, Silence, Ssml, Tts, now_iso
from callplay.providers.vonage import VonageProvider, VonageSettings, db_to_level, level_to_db
from tests.conftest import emulator_call, web

PROFILE = "emulator-vonage"


def profile_table(emulator: EmulatorServer) -> dict[str, Any]:
    return dict(emulator.config_dict()["profiles"][PROFILE])


def settings_for(emulator: EmulatorServer, **changes: Any) -> VonageSettings:
    table = {k: v for k, v in profile_table(emulator).items() if k != "provider"}
    table.update(changes)
    return VonageSettings(**table)


@pytest.fixture
def provider(emulator: EmulatorServer) -> Iterator[VonageProvider]:
    p = VonageProvider(settings_for(emulator), profile=PROFILE)
    yield p
    p.close()


def media_url(emulator: EmulatorServer, name: str = "prompt-8k.wav") -> str:
    return f"{emulator.http_url}/_emulator/media/{name}"


def sim(emulator: EmulatorServer, call_id: str, handle: str) -> dict[str, Any]:
    """The emulator's newest playback of that kind (stream or talk) on the call."""
    matches = [p for p in emulator_call(emulator, call_id)["playbacks"] if p["handle"] == handle]
    assert matches, f"the emulator has no {handle} on {call_id}"
    return dict(matches[-1])


def vonage_requests(emulator: EmulatorServer, call_id: str) -> list[tuple[str, str, int]]:
    log = emulator_call(emulator, call_id)["log"]
    return [(e["method"], e["path"], e["status"]) for e in log if e.get("face") == "vonage" and "method" in e]


def record_of(pb: Any) -> PlaybackRecord:
    """The ledger row the core would pass back to stop (the provider's extra survives the round trip)."""
    return PlaybackRecord(
        control_id=pb.control_id,
        call_id=pb.call_id,
        profile=pb.profile,
        provider=pb.provider,
        state=pb.state,
        sources=pb.sources,
        loop=pb.loop,
        volume_db=pb.volume_db,
        created_at=pb.created_at,
        updated_at=now_iso(),
        last_event=None,
        extra=dict(pb.extra),
    )


def other_key_pem(pkcs1: bool = False) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if pkcs1 else serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


# ------------------------------------------------------------------------------------------- level mapping


@pytest.mark.parametrize(
    ("db", "level"),
    [(-40, -1.0), (-8, -0.2), (-6, -0.2), (-2, -0.1), (-1.9, 0.0), (0, 0.0), (4, 0.1), (10, 0.3), (40, 1.0)],
)
def test_db_maps_onto_vonage_level_in_4_db_steps(db: float, level: float) -> None:
    assert db_to_level(db) == level


@pytest.mark.parametrize("db", [-40.5, 41, math.nan, math.inf])
def test_volume_outside_the_range_is_a_usage_error(db: float) -> None:
    with pytest.raises(UsageError):
        db_to_level(db)


def test_level_back_to_db_inverts_whole_steps() -> None:
    assert [level_to_db(db_to_level(db)) for db in (-40, -12, 0, 8, 40)] == [-40, -12, 0, 8, 40]


# -------------------------------------------------------------------------------------------------- play


def test_play_url_with_loop_and_level_puts_a_stream(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    url = media_url(emulator)
    pb = provider.play(call_id, PlayRequest([Audio(url)], loop=3, volume_db=-8))
    assert (pb.state, pb.call_id, pb.provider, pb.loop, pb.volume_db) == ("requested", call_id, "vonage", 3, -8)
    assert pb.extra["endpoint"] == "stream"
    assert pb.extra["vonage_handle"] == f"{call_id}/stream"
    assert "no playback id" in pb.extra["note"]
    stream = sim(emulator, call_id, "stream")
    assert stream["face"] == "vonage"
    assert stream["loop"] == 3
    assert stream["detail"]["level"] == -0.2
    assert stream["detail"]["stream_url"] == [url]
    assert stream["items"][0]["duration_s"] == pytest.approx(2.0)  # prompt-8k.wav is 2 s long
    assert vonage_requests(emulator, call_id) == [("PUT", f"/v1/calls/{call_id}/stream", 200)]


def test_loop_zero_streams_until_stopped(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    provider.play(call_id, PlayRequest([Audio(media_url(emulator))], loop=0))
    stream = sim(emulator, call_id, "stream")
    assert (stream["loop"], stream["state"]) == (0, "playing")


def test_level_rounding_is_reported_as_a_warning(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    pb = provider.play(call_id, PlayRequest([Audio(media_url(emulator))], volume_db=-6))
    assert pb.extra["level"] == -0.2
    assert any("-6 dB is sent as level -0.2" in w for w in pb.warnings)
    exact = provider.play(call_id, PlayRequest([Audio(media_url(emulator))], volume_db=-8))
    assert exact.warnings == []


def test_tts_puts_a_talk_with_language_style_premium_loop_and_level(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    request = PlayRequest(
        [Tts("Your call is important to us", language="en-GB")],
        loop=2,
        volume_db=12,
        options={"style": "3", "premium": "true"},
    )
    pb = provider.play(call_id, request)
    assert pb.extra["endpoint"] == "talk"
    talk = sim(emulator, call_id, "talk")
    assert talk["loop"] == 2
    assert talk["detail"] == {
        "level": 0.3,
        "text": "Your call is important to us",
        "language": "en-GB",
        "style": 3,
        "premium": True,
    }


def test_tts_takes_the_profiles_defaults(emulator: EmulatorServer, call_id: str) -> None:
    p = VonageProvider(settings_for(emulator, language="de-DE", style=1, premium=False), profile=PROFILE)
    try:
        p.play(call_id, PlayRequest([Tts("Guten Tag")]))
    finally:
        p.close()
    detail = sim(emulator, call_id, "talk")["detail"]
    assert (detail["language"], detail["style"], detail["premium"]) == ("de-DE", 1, False)


def test_ssml_goes_to_talk_inside_speak(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    provider.play(call_id, PlayRequest([Ssml("Hello <break time='1s'/> world")]))
    talk = sim(emulator, call_id, "talk")
    assert talk["detail"]["text"] == "<speak>Hello <break time='1s'/> world</speak>"
    assert talk["items"][0]["kind"] == "ssml"


def test_a_second_stream_replaces_the_first(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    provider.play(call_id, PlayRequest([Audio(media_url(emulator))], loop=0))
    provider.play(call_id, PlayRequest([Audio(media_url(emulator, "hold-16k.wav"))], loop=0))
    streams = [p for p in emulator_call(emulator, call_id)["playbacks"] if p["handle"] == "stream"]
    assert [s["state"] for s in streams] == ["canceled", "playing"]
    assert streams[0]["history"][-1]["reason"] == "replaced"


def test_interrupt_also_ends_the_talk(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    provider.play(call_id, PlayRequest([Tts("please hold")], loop=0))
    provider.play(call_id, PlayRequest([Audio(media_url(emulator))], loop=0, interrupt=True))
    assert sim(emulator, call_id, "talk")["state"] == "canceled"
    assert sim(emulator, call_id, "stream")["state"] == "playing"


def test_an_unfetchable_stream_is_accepted_and_fails_in_the_emulator(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    pb = provider.play(call_id, PlayRequest([Audio(media_url(emulator, "no-such-file.wav"))]))
    assert pb.state == "requested"  # Vonage answers 200 and reports nothing
    assert sim(emulator, call_id, "stream")["state"] == "failed"
    failures = [e for e in emulator_call(emulator, call_id)["log"] if e.get("event") == "stream_failed"]
    assert failures and "404" in failures[0]["error"]


def test_a_float_wav_is_not_played(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    import io

    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros(8000), 8000, subtype="FLOAT", format="WAV")
    name = f"float-{call_id}.wav"
    web.put(f"{emulator.http_url}/_emulator/media/{name}", content=buf.getvalue()).raise_for_status()
    provider.play(call_id, PlayRequest([Audio(media_url(emulator, name))]))
    assert sim(emulator, call_id, "stream")["state"] == "failed"


def test_play_on_an_unknown_call_is_rejected(provider: VonageProvider) -> None:
    with pytest.raises(ProviderRejected) as err:
        provider.play("no-such-call-leg", PlayRequest([Tts("hello")]))
    assert "404" in err.value.message
    assert err.value.hint and "call leg" in err.value.hint


def test_play_on_a_completed_call_is_rejected(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    with pytest.raises(ProviderRejected) as err:
        provider.play(call_id, PlayRequest([Tts("hello")]))
    assert "400" in err.value.message and "completed" in err.value.message


def test_describe_play_is_the_exact_request_without_credentials(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    url = media_url(emulator)
    described = provider.describe_play(call_id, PlayRequest([Audio(url)], loop=0, volume_db=-40))
    host = profile_table(emulator)["api_host"]
    assert described["method"] == "PUT"
    assert described["url"] == f"https://{host}/v1/calls/{call_id}/stream"
    assert described["body"] == {"stream_url": [url], "loop": 0, "level": -1.0}
    key_text = Path(profile_table(emulator)["private_key"]).read_text()
    assert key_text.splitlines()[1] not in repr(described)
    assert vonage_requests(emulator, call_id) == []  # nothing was sent


# -------------------------------------------------------------------------------- what Vonage cannot do


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (PlayRequest([Silence(2.0)]), "silence"),
        (PlayRequest([Tts("a"), Tts("b")]), "one `callplay play` per item"),
        (PlayRequest([Tts("a")], targets=["4:+14255550123"]), "leg's uuid"),
        (PlayRequest([Audio("/tmp/prompt.wav")]), "https URL"),
        (PlayRequest([Audio("s3://bucket/prompt.wav")]), "presigned"),
        (PlayRequest([Tts("a", voice="en-US-JennyNeural")]), "style"),
        (PlayRequest([Tts("a")], direction="listen"), "--direction"),
    ],
)
def test_unsupported_requests_name_vonage_and_the_alternative_and_send_nothing(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str, request_: PlayRequest, words: str
) -> None:
    with pytest.raises(UnsupportedError) as err:
        check_request(provider, request_, wait=False)  # the core refuses what the capabilities do not declare
        provider.play(call_id, request_)
    assert "Vonage" in err.value.message
    assert words in f"{err.value.message} {err.value.hint}"
    assert vonage_requests(emulator, call_id) == []


@pytest.mark.parametrize("verb", ["pause", "resume"])
def test_pause_and_resume_are_unsupported(provider: VonageProvider, call_id: str, verb: str) -> None:
    with pytest.raises(UnsupportedError) as err:
        check_verb(provider, verb)  # Vonage declares neither: the core refuses before any call
    assert "Vonage" in err.value.message and "callplay" in (err.value.hint or "")


def test_volume_during_playback_is_unsupported(provider: VonageProvider, call_id: str) -> None:
    with pytest.raises(UnsupportedError) as err:
        check_verb(provider, "volume")
    assert "--volume" in (err.value.hint or "")


def test_capabilities_refuse_pause_resume_volume_and_wait() -> None:
    caps = VonageProvider.capabilities
    assert caps.verbs == {"play", "loop", "stop", "status"}
    assert (caps.volume_at_start, "volume" in caps.verbs, caps.events, caps.silence) == (True, False, False, False)
    for key in ("pause", "resume", "volume", "wait"):
        assert "callplay" in caps.notes[key]


@pytest.mark.parametrize(
    "request_",
    [
        PlayRequest([Tts("a", language="xx-XX")]),
        PlayRequest([Tts("a")], options={"style": "loud"}),
        PlayRequest([Tts("a")], options={"premium": "maybe"}),
        PlayRequest([Tts("a")], options={"engine": "neural"}),
        PlayRequest([Tts("   ")]),
        PlayRequest([Tts("a")], volume_db=41),
    ],
)
def test_bad_input_is_a_usage_error_before_anything_is_sent(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str, request_: PlayRequest
) -> None:
    with pytest.raises(UsageError):
        provider.play(call_id, request_)
    assert vonage_requests(emulator, call_id) == []


@pytest.mark.parametrize("bad_id", ["a/b", "x?y=1", "", "../calls"])
def test_call_ids_that_would_change_the_path_are_refused(provider: VonageProvider, bad_id: str) -> None:
    with pytest.raises(UsageError):
        provider.status(bad_id)


# -------------------------------------------------------------------------------------------------- stop


def test_stop_ends_only_the_stream_callplay_started(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    stream = provider.play(call_id, PlayRequest([Audio(media_url(emulator))], loop=0))
    provider.play(call_id, PlayRequest([Tts("hold on")], loop=0))
    result = provider.stop(call_id, control_id=stream.control_id, record=record_of(stream))
    assert (result.action, result.state, result.control_id) == ("stop", "stopped", stream.control_id)
    assert result.detail == {"stream": "Stream stopped"}
    assert sim(emulator, call_id, "stream")["state"] == "canceled"
    assert sim(emulator, call_id, "talk")["state"] == "playing"


def test_stop_ends_the_talk(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    talk = provider.play(call_id, PlayRequest([Tts("hold on")], loop=0))
    result = provider.stop(call_id, control_id=talk.control_id, record=record_of(talk))
    assert result.detail == {"talk": "Talk stopped"}
    assert sim(emulator, call_id, "talk")["state"] == "canceled"
    assert ("DELETE", f"/v1/calls/{call_id}/stream", 404) not in vonage_requests(emulator, call_id)


def test_stop_without_a_record_ends_stream_and_talk(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    provider.play(call_id, PlayRequest([Audio(media_url(emulator))], loop=0))
    provider.play(call_id, PlayRequest([Tts("hold on")], loop=0))
    result = provider.stop(call_id, control_id=None, record=None)
    assert result.detail == {"stream": "Stream stopped", "talk": "Talk stopped"}
    assert {sim(emulator, call_id, h)["state"] for h in ("stream", "talk")} == {"canceled"}


def test_stop_when_nothing_plays_is_fine(emulator: EmulatorServer, provider: VonageProvider, call_id: str) -> None:
    result = provider.stop(call_id, control_id=None, record=None)
    assert result.state == "stopped"
    assert result.detail["stream"] == result.detail["talk"] == "nothing playing"
    assert "nothing was playing" in result.detail["note"]


def test_stop_on_an_unknown_call_is_rejected(provider: VonageProvider) -> None:
    with pytest.raises(ProviderRejected):
        provider.stop("no-such-call-leg", control_id=None, record=None)


# ------------------------------------------------------------------------------------------------ status


def test_status_reads_the_call_resource(emulator: EmulatorServer, provider: VonageProvider, new_call: Any) -> None:
    call_id = new_call(["4:+447700900123", "4:+447700900456"])
    status = provider.status(call_id)
    assert (status.call_id, status.provider, status.state) == (call_id, "vonage", "answered")
    (leg,) = status.participants
    assert leg.raw_id == call_id
    assert leg.detail == {"to": "phone:447700900123", "from": "phone:447700900456"}
    assert status.detail["conversation_uuid"].startswith("CON-")
    assert "callplay's record" in status.notes[0]
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    assert provider.status(call_id).state == "completed"


# ------------------------------------------------------------------------------------- keys, TLS, errors


def test_a_pkcs1_key_is_converted_in_memory(emulator: EmulatorServer, call_id: str) -> None:
    from cryptography.hazmat.primitives import serialization

    pkcs8 = Path(profile_table(emulator)["private_key"]).read_bytes()
    key = serialization.load_pem_private_key(pkcs8, password=None)
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    assert "BEGIN RSA PRIVATE KEY" in pkcs1
    p = VonageProvider(settings_for(emulator, private_key=pkcs1), profile=PROFILE)
    try:
        assert p.status(call_id).state == "answered"
    finally:
        p.close()


def test_a_key_of_another_application_is_rejected_without_showing_the_key(
    emulator: EmulatorServer, call_id: str
) -> None:
    pem = other_key_pem()
    p = VonageProvider(settings_for(emulator, private_key=pem), profile=PROFILE)
    with pytest.raises(ProviderRejected) as err:
        p.play(call_id, PlayRequest([Tts("hello")]))
    text = f"{err.value.message} {err.value.hint} {err.value.detail}"
    assert "401" in text and "private_key" in text
    assert not any(line in text for line in pem.splitlines()[1:-1])
    assert vonage_requests(emulator, call_id) == [("PUT", f"/v1/calls/{call_id}/talk", 401)]
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_another_application_id_is_rejected(emulator: EmulatorServer, call_id: str) -> None:
    p = VonageProvider(settings_for(emulator, application_id="11111111-2222-3333-4444-555555555555"), profile=PROFILE)
    with pytest.raises(ProviderRejected):
        p.status(call_id)


def test_key_file_readable_by_others_gives_a_warning(emulator: EmulatorServer, tmp_path: Path) -> None:
    key = tmp_path / "private.key"
    key.write_text(Path(profile_table(emulator)["private_key"]).read_text())
    key.chmod(0o644)
    warned = VonageProvider(settings_for(emulator, private_key=str(key)), profile=PROFILE).warnings
    assert len(warned) == 1 and "chmod 600" in warned[0] and "0644" in warned[0]
    key.chmod(0o600)
    assert VonageProvider(settings_for(emulator, private_key=str(key)), profile=PROFILE).warnings == []


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "cannot read"), ("not a key at all\n", "not a PEM private key")],
)
def test_unusable_key_files_are_config_errors(
    emulator: EmulatorServer, tmp_path: Path, content: str | None, words: str
) -> None:
    key = tmp_path / "private.key"
    if content is not None:
        key.write_text(content)
        key.chmod(0o600)
    p = VonageProvider(settings_for(emulator, private_key=str(key)), profile=PROFILE)
    with pytest.raises(ConfigError) as err:
        p.status("any-call")
    assert words in err.value.message


def test_an_encrypted_key_is_a_config_error_with_the_fix(emulator: EmulatorServer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    p = VonageProvider(settings_for(emulator, private_key=pem), profile=PROFILE)
    with pytest.raises(ConfigError) as err:
        p.status("any-call")
    assert "encrypted" in err.value.message and "openssl" in (err.value.hint or "")


def test_without_the_emulators_ca_tls_fails_as_unavailable(emulator: EmulatorServer, call_id: str) -> None:
    p = VonageProvider(settings_for(emulator, ca_file=None), profile=PROFILE)
    with pytest.raises(ProviderUnavailable) as err:
        p.status(call_id)
    assert "TLS" in err.value.message and "ca_file" in (err.value.hint or "")


def test_ca_file_wins_over_requests_ca_bundle(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # a bundle without the emulator's CA
    assert provider.status(call_id).state == "answered"


def test_the_sdks_warning_logger_stays_off_the_terminal(emulator: EmulatorServer, tmp_path: Path) -> None:
    # In a subprocess: pytest hooks its own handlers into every logger, which would hide a leak here.
    import json
    import subprocess
    import sys

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({k: v for k, v in profile_table(emulator).items() if k != "provider"}))
    code = (
        "import json, sys\n"
        "from callplay.providers.vonage import VonageProvider, VonageSettings\n"
        "p = VonageProvider(VonageSettings(**json.load(open(sys.argv[1]))), profile='x')\n"
        "try:\n    p.status('no-such-call-leg')\nexcept Exception as exc:\n    print(type(exc).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(settings)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ProviderRejected"
    assert out.stderr == ""


def test_server_errors_are_unavailable_and_rate_limits_say_when_to_retry(
    emulator: EmulatorServer, provider: VonageProvider, call_id: str
) -> None:
    faults = f"{emulator.http_url}/_emulator/faults"
    web.post(faults, json={"error_rate": 1.0, "error_status": 503}).raise_for_status()
    with pytest.raises(ProviderUnavailable):
        provider.status(call_id)
    # 429 is "unavailable" (exit 6), and a Retry-After beyond what callplay waits for is reported at once.
    web.post(faults, json={"error_rate": 0.0, "rate_limit": 1, "retry_after": 70}).raise_for_status()
    with pytest.raises(ProviderUnavailable) as err:
        provider.status(call_id)
    assert err.value.hint == "retry in 70 s"


def test_an_unreachable_host_is_unavailable(emulator: EmulatorServer) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = VonageProvider(settings_for(emulator, api_host=f"127.0.0.1:{port}", timeout=2), profile=PROFILE)
    with pytest.raises(ProviderUnavailable):
        p.status("any-call")


def test_importing_the_module_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = "import sys, callplay.providers.vonage; print(sorted(m for m in sys.modules if m.startswith('vonage')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ))
    assert out.stdout.strip() == "[]"
