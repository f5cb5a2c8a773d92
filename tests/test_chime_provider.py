"""ChimeProvider through boto3 against the emulator's Chime and S3 faces (no SDK or provider patching)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from callplay.core.checks import check_request, check_verb
from callplay.emulator.app import EmulatorServer
from callplay.emulator.chime import ChimeFace
from callplay.errors import (
    AudioInvalid,
    ConfigError,
    ProviderRejected,
    ProviderUnavailable,
    UnsupportedError,
    UsageError,
)
from callplay.model import Audio, PlayItem, PlayRequest, Silence, Ssml, Tts
from callplay.providers.chime import ChimeProvider, ChimeSettings
from tests.conftest import emulator_call, wait_until, web


def write_wav(path: Path, rate: int = 8000, channels: int = 1, seconds: float = 1.0, subtype: str = "PCM_16") -> Path:
    t = np.arange(int(rate * seconds)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    data = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    sf.write(path, data, rate, subtype=subtype, format="WAV")
    return path


def wav_bytes(rate: int = 8000, seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(int(rate * seconds)), rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def chime_face(emulator: EmulatorServer) -> ChimeFace:
    return next(f for f in emulator.faces if isinstance(f, ChimeFace))


def settings(emulator: EmulatorServer, **changes: Any) -> ChimeSettings:
    table = dict(chime_face(emulator).profile(emulator))
    table.pop("provider")
    table.update(changes)
    return ChimeSettings(**table)


def provider(emulator: EmulatorServer, **changes: Any) -> ChimeProvider:
    return ChimeProvider(settings(emulator, **changes), profile="emulator-chime")


def actions(emulator: EmulatorServer, call_id: str) -> list[dict[str, Any]]:
    return [e for e in emulator_call(emulator, call_id)["log"] if "action" in e]


def invocations(emulator: EmulatorServer, call_id: str) -> list[str]:
    return [e["invocation"] for e in emulator_call(emulator, call_id)["log"] if "invocation" in e]


def total_puts(emulator: EmulatorServer) -> int:
    return sum(chime_face(emulator).store.puts.values())


# ---------------------------------------------------------------------------------------------- play


def test_same_file_is_uploaded_once_for_two_plays(emulator: EmulatorServer, new_call: Any, tmp_path: Path) -> None:
    call = new_call()
    prompt = write_wav(tmp_path / "prompt.wav", seconds=0.5)
    p = provider(emulator)
    first = p.play(call, PlayRequest([Audio(str(prompt))]))
    second = p.play(call, PlayRequest([Audio(str(prompt))]))
    [obj] = first.extra["objects"]
    bucket, key = obj[len("s3://") :].split("/", 1)
    assert key.startswith("callplay/prompts/") and key.endswith(".wav")
    assert first.extra["uploaded"] == [obj] and second.extra["uploaded"] == []
    face = chime_face(emulator)
    assert face.store.put_count(bucket, key) == 1
    stored = face.store.get(bucket, key)
    assert stored is not None and stored.content_type == "audio/wav" and stored.data == prompt.read_bytes()
    assert first.state == "requested" and first.targets == ["LEG-A"]


def test_play_runs_the_lambdas_play_audio_on_the_call(emulator: EmulatorServer, new_call: Any, tmp_path: Path) -> None:
    call = new_call()
    pb = provider(emulator).play(call, PlayRequest([Audio(str(write_wav(tmp_path / "p.wav", seconds=0.5)))], loop=3))
    assert wait_until(
        lambda: "ACTION_SUCCESSFUL" in invocations(emulator, call),
        describe=lambda: emulator_call(emulator, call)["log"],
    )
    [play] = actions(emulator, call)
    params = play["parameters"]
    assert play["action"] == "PlayAudio" and play["result"] == "ACTION_SUCCESSFUL"
    assert params["Repeat"] == "3" and params["ParticipantTag"] == "LEG-A"
    assert f"s3://{params['AudioSource']['BucketName']}/{params['AudioSource']['Key']}" == pb.extra["objects"][0]
    [sim] = emulator_call(emulator, call)["playbacks"]
    assert (sim["loop"], sim["round_s"], sim["state"]) == (3, 0.5, "finished")
    update = emulator_call(emulator, call)["log"][0]
    assert update["action_data"]["Parameters"]["Arguments"]["control_id"] == pb.control_id


def test_speak(emulator: EmulatorServer, call_id: str) -> None:
    p = provider(emulator, engine="neural", language="en-GB")
    pb = p.play(call_id, PlayRequest([Tts("Please hold, an agent will be with you shortly", voice="Amy")]))
    assert pb.extra["action"] == "speak"
    assert wait_until(lambda: "ACTION_SUCCESSFUL" in invocations(emulator, call_id))
    [speak] = actions(emulator, call_id)
    assert speak["action"] == "Speak" and speak["result"] == "ACTION_SUCCESSFUL"
    assert speak["parameters"] == {
        "CallId": speak["parameters"]["CallId"],
        "Text": "Please hold, an agent will be with you shortly",
        "TextType": "text",
        "VoiceId": "Amy",
        "Engine": "neural",
        "LanguageCode": "en-GB",
    }


def test_ssml_silence_and_audio_in_one_sequence(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    items: list[PlayItem] = [
        Ssml("<speak>One moment</speak>"),
        Silence(0.5),
        Audio(str(write_wav(tmp_path / "a.wav", seconds=0.3))),
    ]
    pb = provider(emulator).play(call_id, PlayRequest(items, targets=["leg-b"]))
    assert pb.extra["action"] == "sequence" and pb.targets == ["LEG-B"]
    assert wait_until(lambda: "ACTION_SUCCESSFUL" in invocations(emulator, call_id))
    done = actions(emulator, call_id)
    assert [a["action"] for a in done] == ["Speak", "Pause", "PlayAudio"]
    assert done[0]["parameters"]["TextType"] == "ssml"
    assert done[1]["parameters"] == {"ParticipantTag": "LEG-B", "DurationInMilliseconds": "500"}
    assert invocations(emulator, call_id).count("ACTION_SUCCESSFUL") == 1  # Chime reports the list's end only


def test_stop_interrupts_the_playing_audio(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    p = provider(emulator)
    pb = p.play(call_id, PlayRequest([Audio(str(write_wav(tmp_path / "long.wav", seconds=5.0)))], loop=100))
    assert wait_until(lambda: any(s["state"] == "playing" for s in emulator_call(emulator, call_id)["playbacks"]))
    result = p.stop(call_id, control_id=pb.control_id, record=None)
    assert (result.action, result.state, result.control_id) == ("stop", "stopped", pb.control_id)
    assert wait_until(lambda: "ACTION_INTERRUPTED" in invocations(emulator, call_id))
    assert wait_until(lambda: [a["action"] for a in actions(emulator, call_id)] == ["PlayAudio", "Pause"])
    played = actions(emulator, call_id)
    assert played[0]["result"] == "ACTION_INTERRUPTED"
    assert played[1]["parameters"]["DurationInMilliseconds"] == "100"
    sims = emulator_call(emulator, call_id)["playbacks"]
    assert sims[0]["state"] == "canceled" and sims[0]["rounds_completed"] < 100


def record_of(sources: list[str], seconds: list[float | None], *, loop: int = 1, state: str = "requested") -> Any:
    """A ledger row for a playback started at t=0 (still_speaking is told `now` in seconds since then)."""
    from callplay.model import PlaybackRecord

    start = "1970-01-01T00:00:00.000+00:00"
    extra = {"seconds": seconds, "participant": "LEG-A"}
    return PlaybackRecord("cp-000000000001", "tx", "p", "chime", state, sources, loop, None, start, start, None, extra)


def test_what_a_stop_leaves_playing_is_reckoned_along_the_items() -> None:
    """Chime cannot interrupt a Speak: the one that may be under way when the stop lands is named, with how long
    it may go on (its estimate with a quarter's slack, plus a second of latency); WAVs and silences never."""
    from callplay.providers.chime import still_speaking

    speak = "tts:" + "x" * 300  # 20 s at 15 characters a second
    only_speak = record_of([speak], [20.0])
    [left] = still_speaking(only_speak, 5.0)
    assert (left.source, left.likely, round(left.seconds or 0)) == (speak, True, 21)
    assert "cannot interrupt a Speak" in left.reason and "WAV" in left.hint
    assert still_speaking(only_speak, 27.0) == []  # over, slack included
    assert still_speaking(record_of([speak], [20.0], state="finished"), 5.0) == []  # callplay heard its end
    assert still_speaking(record_of(["hold.wav", "silence:2"], [30.0, 2.0], loop=3), 50.0) == []
    wav_then_speak = record_of(["hold.wav", speak], [10.0, 20.0])
    assert still_speaking(wav_then_speak, 3.0) == []  # the stop lands before the Speak starts
    [left] = still_speaking(wav_then_speak, 12.0)  # 2 s into it (1 s of latency allowed): 25 + 1 - 2 left
    assert left.likely and round(left.seconds or 0) == 24
    # An s3:// object's length is not known: the Speak after it may be anywhere, up to its whole length.
    unknown_then_speak = record_of(["s3://b/k.wav", speak], [None, 20.0])
    [left] = still_speaking(unknown_then_speak, 100.0)
    assert not left.likely and round(left.seconds or 0) == 26
    looped = record_of([speak], [20.0], loop=3)
    [left] = still_speaking(looped, 45.0)  # the third round
    assert left.likely and left.seconds is not None and left.seconds > 0
    no_estimate = record_of([speak], [])  # a row without lengths: estimated from the text
    assert [round(x.seconds or 0) for x in still_speaking(no_estimate, 5.0)] == [21]


def test_speak_length_counts_spoken_text_and_ssml_breaks() -> None:
    from callplay.providers.chime import speak_seconds

    assert speak_seconds("a" * 150, ssml=False) == 10.0
    ssml = "<speak>" + "b" * 30 + '<break time="2s"/><break time="500ms"/></speak>'
    assert speak_seconds(ssml, ssml=True) == 2.0 + 2.5


def test_play_keeps_each_items_length_for_stop(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    bucket = settings(emulator).bucket
    wav = str(write_wav(tmp_path / "five.wav", seconds=5.0))
    items: list[PlayItem] = [Audio(wav), Tts("x" * 45), Silence(1.5), Audio(f"s3://{bucket}/some/key.wav")]
    pb = provider(emulator).play(call_id, PlayRequest(items))
    assert pb.extra["seconds"] == [5.0, 3.0, 1.5, None]


def test_stop_of_a_speak_returns_what_keeps_playing(emulator: EmulatorServer, call_id: str) -> None:
    from callplay.ledger import Ledger

    p = provider(emulator)
    pb = p.play(call_id, PlayRequest([Tts("y" * 900)]))
    ledger = Ledger.default()
    ledger.record_playback(pb)
    result = p.stop(call_id, control_id=pb.control_id, record=ledger.get(pb.control_id))
    [left] = result.still_playing
    assert left.source == pb.sources[0] and left.likely and 60 < (left.seconds or 0) <= 76
    assert wait_until(lambda: [a["action"] for a in actions(emulator, call_id)] == ["Speak", "Pause"], timeout=30)
    assert actions(emulator, call_id)[0]["result"] == "ACTION_SUCCESSFUL"  # not interrupted


def test_the_lambda_reports_a_stopped_speak_when_it_has_ended(emulator: EmulatorServer, call_id: str) -> None:
    """Not when the stop arrives: the Speak is still speaking then. Once the stop's Pause has run."""
    hook = f"http://127.0.0.1:9/events/chime/{call_id}"  # nothing listens: the attempt is what counts

    def posts() -> list[dict[str, Any]]:
        found = web.get(f"{emulator.http_url}/_emulator/deliveries").json()["deliveries"]
        return [d for d in found if d["url"] == hook]

    p = provider(emulator)
    pb = p.play(call_id, PlayRequest([Tts("z" * 600)], callback_url=hook))
    assert wait_until(lambda: [a["action"] for a in actions(emulator, call_id)] == ["Speak"])
    p.stop(call_id, control_id=pb.control_id, record=None)
    assert wait_until(lambda: invocations(emulator, call_id).count("CALL_UPDATE_REQUESTED") == 2)
    assert posts() == []
    assert wait_until(lambda: posts(), timeout=30)
    pause = actions(emulator, call_id)[1]
    assert pause["action"] == "Pause" and posts()[0]["at"] >= pause["at"]


def test_stop_when_nothing_of_callplays_plays_changes_nothing(emulator: EmulatorServer, call_id: str) -> None:
    provider(emulator).stop(call_id, control_id=None, record=None)
    assert wait_until(lambda: invocations(emulator, call_id) == ["CALL_UPDATE_REQUESTED"])
    assert actions(emulator, call_id) == []


def test_s3_source_is_played_as_is_and_a_missing_object_fails(emulator: EmulatorServer, call_id: str) -> None:
    bucket = settings(emulator).bucket
    before = total_puts(emulator)
    pb = provider(emulator).play(call_id, PlayRequest([Audio(f"s3://{bucket}/not/there.wav")]))
    assert pb.extra["uploaded"] == [] and total_puts(emulator) == before
    assert wait_until(lambda: "ACTION_FAILED" in invocations(emulator, call_id))
    [play] = actions(emulator, call_id)
    assert (play["result"], play["ErrorType"]) == ("ACTION_FAILED", "InvalidAudioSource")


def test_object_that_is_not_pcm_wav_fails_with_invalid_audio_source(emulator: EmulatorServer, call_id: str) -> None:
    face = chime_face(emulator)
    bucket = settings(emulator).bucket
    assert bucket is not None
    from callplay.emulator.s3 import S3Object

    face.store.put(bucket, "odd/mp3-named.wav", S3Object(b"ID3\x03\x00" + b"\x00" * 200, "audio/wav", '"x"', 0.0))
    face.store.put(bucket, "odd/octet.wav", S3Object(wav_bytes(), "binary/octet-stream", '"y"', 0.0))
    p = provider(emulator)
    p.play(call_id, PlayRequest([Audio(f"s3://{bucket}/odd/mp3-named.wav")]))
    assert wait_until(lambda: "ACTION_FAILED" in invocations(emulator, call_id))
    p.play(call_id, PlayRequest([Audio(f"s3://{bucket}/odd/octet.wav")]))
    assert wait_until(lambda: invocations(emulator, call_id).count("ACTION_FAILED") == 2)
    results = [(a["result"], a.get("ErrorType")) for a in actions(emulator, call_id)]
    assert results == [("ACTION_FAILED", "InvalidAudioSource")] * 2
    assert "audio/wav" in actions(emulator, call_id)[1]["EmulatorDetail"]


def test_stereo_44k_file_plays_with_a_warning(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    stereo = write_wav(tmp_path / "stereo.wav", rate=44100, channels=2, seconds=0.3)
    pb = provider(emulator).play(call_id, PlayRequest([Audio(str(stereo))]))
    [warning] = pb.warnings
    assert "44100 Hz stereo" in warning and "8 kHz mono" in warning
    assert wait_until(lambda: "ACTION_SUCCESSFUL" in invocations(emulator, call_id))


def test_8k_mono_file_has_no_warning(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    assert provider(emulator).play(call_id, PlayRequest([Audio(str(write_wav(tmp_path / "m.wav")))])).warnings == []


# ------------------------------------------------------------------------------ refused before sending


def test_60_mb_file_is_refused_before_any_upload(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(wav_bytes()[:44])
    os.truncate(big, 60_000_000)  # sparse: a valid header, then 60 MB
    if os.geteuid() != 0:
        big.chmod(0o200)  # unreadable: only the size may be looked at
    before = total_puts(emulator)
    with pytest.raises(AudioInvalid) as err:
        provider(emulator).play(call_id, PlayRequest([Audio(str(big))]))
    assert "50 MB" in err.value.message and err.value.exit_code == 7
    assert total_puts(emulator) == before
    assert emulator_call(emulator, call_id)["log"] == []


def test_compressed_wav_is_refused_locally(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    ulaw = write_wav(tmp_path / "ulaw.wav", subtype="ULAW")
    with pytest.raises(AudioInvalid, match="only uncompressed PCM WAV"):
        provider(emulator).play(call_id, PlayRequest([Audio(str(ulaw))]))
    assert emulator_call(emulator, call_id)["log"] == []


def test_loop_forever_is_refused_with_the_bound(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    prompt = write_wav(tmp_path / "p.wav")
    # The core checks the loop against the capabilities, which carry the profile's repeat_max.
    with pytest.raises(UnsupportedError) as err:
        check_request(provider(emulator, repeat_max=25), PlayRequest([Audio(str(prompt))], loop=0), wait=False)
    assert "Amazon Chime SDK" in err.value.message and "25" in err.value.message
    assert err.value.hint and "--times N with N <= 25" in err.value.hint and err.value.exit_code == 4
    with pytest.raises(UnsupportedError, match="at most 25 times"):
        check_request(provider(emulator, repeat_max=25), PlayRequest([Audio(str(prompt))], loop=26), wait=False)


def test_more_than_ten_actions_is_refused(emulator: EmulatorServer, call_id: str) -> None:
    with pytest.raises(UnsupportedError, match="at most 10 actions"):
        provider(emulator).play(call_id, PlayRequest([Tts("a"), Tts("b"), Tts("c")], loop=4))
    assert emulator_call(emulator, call_id)["log"] == []


def test_looped_speak_is_repeated_as_actions(emulator: EmulatorServer, call_id: str) -> None:
    pb = provider(emulator).play(call_id, PlayRequest([Tts("Hold please")], loop=3))
    assert (pb.extra["action"], pb.extra["actions"]) == ("sequence", 3)


@pytest.mark.parametrize("sma", ["", "   ", "a/b"])
def test_missing_sma_id_is_refused_before_botocore(emulator: EmulatorServer, call_id: str, sma: str) -> None:
    with pytest.raises(ConfigError, match="sip_media_application_id"):
        provider(emulator, sip_media_application_id=sma).play(call_id, PlayRequest([Tts("hi")]))
    with pytest.raises(ConfigError):
        provider(emulator, sip_media_application_id=sma).stop(call_id, control_id=None, record=None)
    assert emulator_call(emulator, call_id)["log"] == []


@pytest.mark.parametrize(("targets", "message"), [(["LEG-C"], "not 'LEG-C'"), (["LEG-A", "LEG-B"], "one leg")])
def test_participant_must_be_one_leg(emulator: EmulatorServer, targets: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        provider(emulator).describe_play("tx-1", PlayRequest([Tts("hi")], targets=targets))


def test_url_source_is_unsupported_with_the_alternative(emulator: EmulatorServer) -> None:
    with pytest.raises(UnsupportedError) as err:
        provider(emulator).describe_play("tx-1", PlayRequest([Audio("https://example.com/a.wav")]))
    assert "only from S3" in err.value.message and err.value.hint and "s3://" in err.value.hint


def test_speak_text_over_1000_characters_is_refused(emulator: EmulatorServer) -> None:
    with pytest.raises(UsageError, match="1000"):
        provider(emulator).describe_play("tx-1", PlayRequest([Tts("x" * 1001)]))


def test_blank_transaction_id_is_refused(emulator: EmulatorServer) -> None:
    with pytest.raises(UsageError, match="TransactionId"):
        provider(emulator).describe_play(" ", PlayRequest([Tts("hi")]))


def test_local_file_needs_a_bucket(emulator: EmulatorServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no bucket"):
        provider(emulator, bucket=None).describe_play("tx-1", PlayRequest([Audio(str(write_wav(tmp_path / "p.wav")))]))


def test_pause_resume_volume_name_chime(emulator: EmulatorServer) -> None:
    p = provider(emulator)
    for verb in ("pause", "resume"):
        with pytest.raises(UnsupportedError, match="Amazon Chime SDK"):
            check_verb(p, verb)  # Chime declares neither: the core refuses before any call
    with pytest.raises(UnsupportedError, match="Amazon Chime SDK"):
        check_verb(p, "volume")


# ------------------------------------------------------------------------------------ AWS's answers


def test_wrong_secret_key_is_an_authentication_failure(emulator: EmulatorServer, call_id: str) -> None:
    wrong = "x" * 40
    with pytest.raises(ProviderRejected) as err:
        provider(emulator, aws_secret_access_key=wrong).play(call_id, PlayRequest([Tts("hi")]))
    assert "authentication failed" in err.value.message and err.value.exit_code == 5
    assert wrong not in err.value.message and wrong not in (err.value.hint or "")
    assert emulator_call(emulator, call_id)["log"] == []


def test_wrong_secret_key_on_upload(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    prompt = write_wav(tmp_path / "unique.wav", seconds=0.77)
    with pytest.raises(ProviderRejected, match="authentication failed"):
        provider(emulator, aws_secret_access_key="y" * 40).play(call_id, PlayRequest([Audio(str(prompt))]))


def test_unknown_transaction_and_sma_are_not_found(emulator: EmulatorServer) -> None:
    with pytest.raises(ProviderRejected, match="NotFoundException"):
        provider(emulator).play("no-such-call", PlayRequest([Tts("hi")]))
    with pytest.raises(ProviderRejected, match="NotFoundException"):
        provider(emulator, sip_media_application_id="00000000-0000-0000-0000-000000000000").play(
            "no-such-call", PlayRequest([Tts("hi")])
        )


def test_missing_bucket_is_rejected(emulator: EmulatorServer, call_id: str, tmp_path: Path) -> None:
    prompt = write_wav(tmp_path / "p.wav", seconds=0.31)
    with pytest.raises(ProviderRejected, match="NoSuchBucket"):
        provider(emulator, bucket="no-such-bucket-here").play(call_id, PlayRequest([Audio(str(prompt))]))


# A single 429 is retried (callplay/retry.py): one asking for longer than callplay waits is reported at once.
@pytest.mark.parametrize("fault", [{"error_rate": 1.0, "error_status": 503}, {"rate_limit": 1, "retry_after": 70}])
def test_service_errors_and_throttling_are_unavailable(
    emulator: EmulatorServer, call_id: str, fault: dict[str, Any]
) -> None:
    web.post(f"{emulator.http_url}/_emulator/faults", json=fault).raise_for_status()
    with pytest.raises(ProviderUnavailable):
        provider(emulator).play(call_id, PlayRequest([Tts("hi")]))


def test_unreachable_endpoint_is_unavailable(emulator: EmulatorServer) -> None:
    with pytest.raises(ProviderUnavailable, match="cannot reach AWS"):
        provider(emulator, endpoint_url="http://127.0.0.1:9", timeout=2).play("tx", PlayRequest([Tts("hi")]))


def test_no_credentials_is_a_config_error(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    p = provider(emulator, aws_access_key_id=None, aws_secret_access_key=None)
    with pytest.raises(ConfigError, match="no usable AWS credentials"):
        p.play("tx", PlayRequest([Tts("hi")]))


def test_named_aws_profile_is_used(
    emulator: EmulatorServer, call_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = settings(emulator)
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[ops]\naws_access_key_id = {s.aws_access_key_id}\naws_secret_access_key = {s.aws_secret_access_key}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    p = provider(emulator, aws_access_key_id=None, aws_secret_access_key=None, aws_profile="ops")
    assert p.play(call_id, PlayRequest([Tts("hi")])).state == "requested"
    with pytest.raises(ConfigError, match="not in the shared AWS config"):
        provider(emulator, aws_access_key_id=None, aws_secret_access_key=None, aws_profile="nope").play(
            call_id, PlayRequest([Tts("hi")])
        )


# ------------------------------------------------------------------------------------- dry run, status


def test_describe_play_is_the_exact_request_without_credentials(emulator: EmulatorServer, tmp_path: Path) -> None:
    s = settings(emulator)
    prompt = write_wav(tmp_path / "p.wav")
    req = PlayRequest([Audio(str(prompt))], loop=2, callback_url="https://hooks.example.com/events/chime")
    before = total_puts(emulator)
    described = provider(emulator).describe_play("tx-42", req)
    assert total_puts(emulator) == before
    assert described["method"] == "POST"
    assert described["path"] == f"/sip-media-applications/{s.sip_media_application_id}/calls/tx-42"
    args = described["body"]["Arguments"]
    assert args["action"] == "play" and args["repeat"] == "2" and args["control_id"] == req.control_id
    assert args["callback_url"] == "https://hooks.example.com/events/chime"
    assert described["uploads"][0]["content_type"] == "audio/wav"
    text = repr(described)
    assert str(s.aws_secret_access_key) not in text and str(s.callback_secret) not in text


def test_status_has_no_call_state_and_says_why(emulator: EmulatorServer) -> None:
    status = provider(emulator).status("tx-anything")
    assert status.state is None and status.participants == []
    assert status.notes == [
        "Amazon Chime SDK has no call status API: the call's state is visible only to the SIP media "
        "application's Lambda"
    ]


def test_playback_extra_holds_no_secret(emulator: EmulatorServer, call_id: str) -> None:
    s = settings(emulator)
    pb = provider(emulator).play(call_id, PlayRequest([Tts("hi")], callback_url="http://127.0.0.1:9/events/chime"))
    shown = repr(pb.to_dict())
    assert str(s.aws_secret_access_key) not in shown and str(s.callback_secret) not in shown
