"""callplay's reference Chime Lambda, fed the event shapes of the Amazon Chime SDK developer guide."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from callplay.chime_lambda import handler, hooks
from callplay.events import EventRejected
from callplay.events import chime as chime_events
from tests.conftest import run_cli

SECRET = "test-events-secret"
CALLBACK = "http://127.0.0.1:9/events/chime"


def participants() -> list[dict[str, str]]:
    return [
        {
            "CallId": "call-id-1",
            "ParticipantTag": "LEG-A",
            "To": "+14345550101",
            "From": "+14255550199",
            "Direction": "Inbound",
            "StartTimeInMilliseconds": "1644539405907",
            "Status": "Connected",
        },
        {
            "CallId": "call-id-2",
            "ParticipantTag": "LEG-B",
            "To": "+14255550199",
            "From": "+14345550101",
            "Direction": "Outbound",
            "StartTimeInMilliseconds": "1644539405999",
            "Status": "Connected",
        },
    ]


def event(
    kind: str,
    action_data: dict[str, Any] | None = None,
    attrs: dict[str, str] | None = None,
    sequence: int = 2,
    **top: Any,
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "TransactionId": "transaction-id-1",
        "AwsAccountId": "111122223333",
        "AwsRegion": "us-east-1",
        "SipMediaApplicationId": "sma-id-1",
        "Participants": participants(),
    }
    if attrs is not None:
        details["TransactionAttributes"] = attrs
    out: dict[str, Any] = {"SchemaVersion": "1.0", "Sequence": sequence, "InvocationEventType": kind, **top}
    if action_data is not None:
        out["ActionData"] = action_data
    out["CallDetails"] = details
    return out


def update(arguments: dict[str, str], attrs: dict[str, str] | None = None) -> dict[str, Any]:
    data = {"Type": "CallUpdateRequest", "Parameters": {"Arguments": arguments}}
    return event("CALL_UPDATE_REQUESTED", data, attrs)


class Posts:
    """Records what the handler POSTs (in place of urllib)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        self.sent.append((url, body, headers))

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, _ in self.sent]


def run(ev: dict[str, Any], posts: Posts | None = None) -> dict[str, Any]:
    return handler.handle(ev, env={handler.SECRET_ENV: SECRET}, post=posts or Posts())


PLAY = {
    "callplay": "1",
    "action": "play",
    "control_id": "cp-000000000001",
    "participant": "LEG-A",
    "bucket": "prompts",
    "key": "callplay/prompts/abc.wav",
    "repeat": "3",
    "callback_url": CALLBACK,
}
PLAYING = {
    handler.ATTR_CONTROL_ID: "cp-000000000001",
    handler.ATTR_KIND: "play",
    handler.ATTR_CALLBACK: CALLBACK,
    handler.ATTR_ACTIONS: "PlayAudio",
}
SPEAKING = {**PLAYING, handler.ATTR_KIND: "sequence", handler.ATTR_ACTIONS: "Pause,Speak"}
STOP = {"callplay": "1", "action": "stop", "control_id": "cp-000000000001", "participant": "LEG-A"}
STOP_PAUSE = {"Type": "Pause", "Parameters": {"ParticipantTag": "LEG-A", "DurationInMilliseconds": "100"}}


def test_play_update_answers_play_audio_and_remembers_the_playback() -> None:
    response = run(update(PLAY))
    assert response["Actions"] == [
        {
            "Type": "PlayAudio",
            "Parameters": {
                "ParticipantTag": "LEG-A",
                "Repeat": "3",
                "AudioSource": {"Type": "S3", "BucketName": "prompts", "Key": "callplay/prompts/abc.wav"},
            },
        }
    ]
    assert response["TransactionAttributes"] == PLAYING


def test_speak_update_uses_the_legs_call_id_and_polly_parameters() -> None:
    args = {
        "callplay": "1",
        "action": "speak",
        "control_id": "cp-2",
        "participant": "LEG-B",
        "text": "<speak>Hi</speak>",
        "text_type": "ssml",
        "voice": "Matthew",
        "engine": "neural",
        "language": "en-US",
    }
    action = run(update(args))["Actions"][0]
    assert action == {
        "Type": "Speak",
        "Parameters": {
            "CallId": "call-id-2",
            "Text": "<speak>Hi</speak>",
            "TextType": "ssml",
            "VoiceId": "Matthew",
            "Engine": "neural",
            "LanguageCode": "en-US",
        },
    }


def test_sequence_becomes_actions_in_order_with_speak_defaults() -> None:
    items = [
        {"action": "speak", "text": "Please hold"},
        {"action": "pause", "duration_ms": "1500"},
        {"action": "play", "bucket": "prompts", "key": "hold.wav"},
    ]
    args = {"callplay": "1", "action": "sequence", "control_id": "cp-3", "voice": "Joanna", "items": json.dumps(items)}
    actions = run(update(args))["Actions"]
    assert [a["Type"] for a in actions] == ["Speak", "Pause", "PlayAudio"]
    assert actions[0]["Parameters"]["VoiceId"] == "Joanna"
    assert actions[1]["Parameters"] == {"ParticipantTag": "LEG-A", "DurationInMilliseconds": "1500"}
    assert "Repeat" not in actions[2]["Parameters"]


def test_stop_replaces_the_playing_action_with_a_short_pause_and_reports_canceled() -> None:
    posts = Posts()
    response = run(update(STOP, attrs={**PLAYING, "mine": "kept"}), posts)
    assert response["Actions"] == [STOP_PAUSE]
    assert response["TransactionAttributes"] == {"mine": "kept", handler.ATTR_KIND: "stop"}
    [body] = posts.bodies()
    assert (body["control_id"], body["state"], body["reason"]) == ("cp-000000000001", "canceled", "stopped")


def test_the_play_remembers_its_action_types() -> None:
    """What a stop needs to know: whether Chime can interrupt everything in the list."""
    args = {**PLAY, "action": "sequence", "items": json.dumps([{"action": "speak", "text": "Hi"}, PLAY, PLAY])}
    response = run(update(args))
    assert response["TransactionAttributes"][handler.ATTR_ACTIONS] == "PlayAudio,Speak"


def test_the_interruptible_actions_are_the_developer_guides() -> None:
    assert frozenset({"PlayAudio", "RecordAudio", "Pause"}) == handler.INTERRUPTIBLE_ACTIONS


def test_stop_of_a_list_with_a_speak_reports_canceled_only_when_the_pause_has_run() -> None:
    """Chime lets a running Speak finish before the stop's Pause: the playback ends when the Pause's list does."""
    posts = Posts()
    response = run(update(STOP, attrs={**SPEAKING, "mine": "kept"}), posts)
    assert response["Actions"] == [STOP_PAUSE]
    assert posts.sent == []  # not yet: the Speak may still be speaking
    waiting = response["TransactionAttributes"]
    assert waiting == {**SPEAKING, "mine": "kept", handler.ATTR_KIND: "stop"}
    again = run(update(STOP, attrs=waiting), posts)  # a second stop meanwhile changes nothing
    assert again["Actions"] == [STOP_PAUSE] and again["TransactionAttributes"] == waiting and posts.sent == []
    done = run(event("ACTION_SUCCESSFUL", STOP_PAUSE, attrs=waiting, sequence=5), posts)
    [body] = posts.bodies()
    assert (body["control_id"], body["state"], body["reason"]) == ("cp-000000000001", "canceled", "stopped")
    assert (body["type"], body["action"]) == ("ACTION_SUCCESSFUL", "Pause")
    assert done["TransactionAttributes"] == {"mine": "kept"}


def test_hangup_while_a_stop_waits_for_a_speak_reports_canceled_by_hangup() -> None:
    posts = Posts()
    waiting = run(update(STOP, attrs=SPEAKING), posts)["TransactionAttributes"]
    run(event("HANGUP", {"Type": "Hangup", "Parameters": {"SipResponseCode": "0"}}, attrs=waiting), posts)
    assert [(b["state"], b["reason"]) for b in posts.bodies()] == [("canceled", "hangup")]


def test_stop_of_a_list_of_unknown_actions_waits_too() -> None:
    """State an older handler stored (no action types): the safe reading is that a Speak may be running."""
    posts = Posts()
    old = {k: v for k, v in PLAYING.items() if k != handler.ATTR_ACTIONS}
    response = run(update(STOP, attrs=old), posts)
    assert response["Actions"] == [STOP_PAUSE] and posts.sent == []
    assert response["TransactionAttributes"][handler.ATTR_CONTROL_ID] == "cp-000000000001"


def test_stop_of_another_playback_leaves_the_call_alone() -> None:
    posts = Posts()
    args = {"callplay": "1", "action": "stop", "control_id": "cp-somethingelse"}
    response = run(update(args, attrs=PLAYING), posts)
    assert response["Actions"] == [] and "TransactionAttributes" not in response
    assert posts.sent == []


def test_a_new_play_reports_the_replaced_one_canceled() -> None:
    posts = Posts()
    run(update({**PLAY, "control_id": "cp-000000000002"}, attrs=PLAYING), posts)
    [body] = posts.bodies()
    assert (body["control_id"], body["state"]) == ("cp-000000000001", "canceled")


def test_bad_arguments_answer_nothing_and_report_failed() -> None:
    posts = Posts()
    response = run(update({**PLAY, "participant": "LEG-C"}), posts)
    assert response["Actions"] == []
    [body] = posts.bodies()
    assert (body["state"], body["error_type"]) == ("failed", "InvalidArguments")


def test_action_successful_reports_finished_signed_and_clears_callplay_state() -> None:
    posts = Posts()
    data = {
        "Type": "PlayAudio",
        "Parameters": {
            "ParticipantTag": "LEG-A",
            "Repeat": 3,
            "AudioSource": {"Type": "S3", "BucketName": "prompts", "Key": "callplay/prompts/abc.wav"},
        },
    }
    response = run(event("ACTION_SUCCESSFUL", data, attrs={**PLAYING, "mine": "kept"}), posts)
    assert response["TransactionAttributes"] == {"mine": "kept"}
    [(url, body, headers)] = posts.sent
    assert url == CALLBACK
    events = chime_events.parse(body, headers, url=url, secret=SECRET)
    assert [(e.type, e.state, e.control_id, e.call_id) for e in events] == [
        ("ACTION_SUCCESSFUL", "finished", "cp-000000000001", "transaction-id-1")
    ]


def test_action_failed_reports_the_error_type() -> None:
    posts = Posts()
    data = {
        "Type": "PlayAudio",
        "Parameters": {"ParticipantTag": "LEG-A"},
        "ErrorType": "InvalidAudioSource",
        "ErrorMessage": "Audio Source parameter value is invalid.",
    }
    run(event("ACTION_FAILED", data, attrs=PLAYING), posts)
    [e] = chime_events.parse(posts.sent[0][1], posts.sent[0][2], url=CALLBACK, secret=SECRET)
    assert (e.state, e.detail["code"], e.detail["message"]) == (
        "failed",
        "InvalidAudioSource",
        "Audio Source parameter value is invalid.",
    )


def test_invalid_lambda_response_with_top_level_error_reports_failed() -> None:
    posts = Posts()
    run(event("INVALID_LAMBDA_RESPONSE", None, attrs=PLAYING, ErrorType="InvalidActionType", ErrorMessage="bad"), posts)
    assert posts.bodies()[0]["error_type"] == "InvalidActionType"


def test_hangup_reports_canceled() -> None:
    posts = Posts()
    data = {"Type": "Hangup", "Parameters": {"SipResponseCode": "0", "CallId": "call-id-1", "ParticipantTag": "LEG-A"}}
    run(event("HANGUP", data, attrs=PLAYING), posts)
    assert [(b["state"], b["reason"]) for b in posts.bodies()] == [("canceled", "hangup")]


def test_results_of_the_users_own_actions_are_not_reported() -> None:
    posts = Posts()
    response = run(event("ACTION_SUCCESSFUL", {"Type": "PlayAudio", "Parameters": {}}, attrs={"mine": "x"}), posts)
    assert posts.sent == [] and response == {"SchemaVersion": "1.0", "Actions": []}


def test_new_inbound_call_goes_to_the_users_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def hook(ev: dict[str, Any]) -> dict[str, Any]:
        seen.append(ev)
        return {
            "SchemaVersion": "1.0",
            "Actions": [{"Type": "Hangup", "Parameters": {"SipResponseCode": "0"}}],
            "TransactionAttributes": {"step": "greeted"},
        }

    monkeypatch.setattr(hooks, "user_hook", hook)
    ev = event("NEW_INBOUND_CALL", None, sequence=1)
    response = run(ev)
    assert seen == [ev]
    assert response["Actions"][0]["Type"] == "Hangup"
    assert response["TransactionAttributes"] == {"step": "greeted"}


def test_hook_attributes_keep_a_running_playbacks_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "user_hook", lambda ev: {"Actions": [], "TransactionAttributes": {"digits": "12"}})
    response = run(event("DIGITS_RECEIVED", {"Type": "ReceiveDigits", "ReceivedDigits": "12"}, attrs=PLAYING))
    assert response["TransactionAttributes"] == {"digits": "12", **PLAYING}


def test_update_without_callplays_marker_goes_to_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "user_hook", lambda ev: {"SchemaVersion": "1.0", "Actions": [{"Type": "Pause"}]})
    assert run(update({"JoinToken": "abc123"}))["Actions"] == [{"Type": "Pause"}]


def test_default_hook_answers_no_actions() -> None:
    assert hooks.user_hook(event("RINGING")) == {"SchemaVersion": "1.0", "Actions": []}


def test_unsigned_when_the_lambda_has_no_secret() -> None:
    posts = Posts()
    handler.handle(event("ACTION_SUCCESSFUL", {"Type": "Pause"}, attrs=PLAYING), env={}, post=posts)
    headers = posts.sent[0][2]
    assert handler.SIGNATURE_HEADER not in headers
    with pytest.raises(EventRejected):
        chime_events.parse(posts.sent[0][1], headers, url=CALLBACK, secret=SECRET)


def test_an_unreachable_receiver_does_not_fail_the_invocation() -> None:
    def broken(url: str, body: bytes, headers: dict[str, str]) -> None:
        raise OSError("connection refused")

    response = handler.handle(event("ACTION_SUCCESSFUL", {"Type": "Pause"}, attrs=PLAYING), env={}, post=broken)
    assert response["Actions"] == []


def test_lambda_package_zip_is_deployable(tmp_path: Path) -> None:
    out = tmp_path / "fn.zip"
    result = run_cli("chime", "lambda-package", "--out", str(out), "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["handler"] == "handler.lambda_handler"
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["README.md", "handler.py", "hooks.py"]
        zf.extractall(tmp_path / "fn")
    # As Lambda runs it: the zip's top level on sys.path, `handler` imported as a top-level module.
    probe = (
        "import json, os, sys\n"
        "sys.path.insert(0, os.getcwd())\n"
        "import handler\n"
        "assert handler.hooks.__file__.startswith(os.getcwd())\n"
        "ev = json.loads(sys.stdin.read())\n"
        "print(json.dumps(handler.lambda_handler(ev, None)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        cwd=tmp_path / "fn",
        input=json.dumps(update(PLAY)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Actions"][0]["Type"] == "PlayAudio"


def test_lambda_package_takes_the_users_hooks(tmp_path: Path) -> None:
    mine = tmp_path / "my_hooks.py"
    mine.write_text("def user_hook(event):\n    return {'SchemaVersion': '1.0', 'Actions': [], 'x': 1}\n")
    out = tmp_path / "fn.zip"
    assert run_cli("chime", "lambda-package", "--out", str(out), "--hooks", str(mine)).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        assert zf.read("hooks.py") == mine.read_bytes()
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    result = run_cli("chime", "lambda-package", "--out", str(out), "--hooks", str(bad))
    assert result.exit_code == 2 and "user_hook" in result.stderr
