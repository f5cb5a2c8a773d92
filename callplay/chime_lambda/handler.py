"""callplay's reference handler for an Amazon Chime SDK SIP media application (handler: handler.lambda_handler).

callplay plays audio on a live Chime call by calling UpdateSipMediaApplicationCall with string arguments
(the contract is in README.md). Chime hands them to this Lambda as a CALL_UPDATE_REQUESTED event and
this handler answers with PlayAudio, Speak or Pause actions; `action=stop` answers with a short Pause,
which replaces the rest of callplay's list. Chime interrupts a running PlayAudio or Pause for it at once, but
lets a running Speak finish first (INTERRUPTIBLE_ACTIONS): so a stop of a list with a Speak is reported as
canceled only when the Pause has run, that is when nothing of callplay's plays any more. When callplay's
action list ends (ACTION_SUCCESSFUL, ACTION_FAILED, INVALID_LAMBDA_RESPONSE, HANGUP), the handler POSTs a
small JSON event to the callback URL the arguments carried, signed with HMAC-SHA256 when the
CALLPLAY_EVENTS_SECRET environment variable is set.
Everything else goes to hooks.user_hook. Standard library only; Python 3.11 or later.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import os
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

try:  # inside the callplay package
    from . import hooks
except ImportError:  # deployed: handler.py and hooks.py sit side by side at the zip's top level
    import hooks  # type: ignore[no-redef]

log = logging.getLogger("callplay.chime_lambda")
log.setLevel(logging.INFO)

SCHEMA = "1.0"
SECRET_ENV = "CALLPLAY_EVENTS_SECRET"
SIGNATURE_HEADER = "X-Callplay-Signature"
TIMESTAMP_HEADER = "X-Callplay-Timestamp"
# TransactionAttributes callplay keeps between invocations of one call.
ATTR_CONTROL_ID = "callplay_control_id"  # the callplay action list now running, "" when none
ATTR_KIND = "callplay_kind"  # play | speak | pause | sequence | stop
ATTR_CALLBACK = "callplay_callback_url"
ATTR_ACTIONS = "callplay_actions"  # the Types of callplay's running list, comma-separated: PlayAudio,Speak
OUR_ATTRS = (ATTR_CONTROL_ID, ATTR_KIND, ATTR_CALLBACK, ATTR_ACTIONS)
LEGS = ("LEG-A", "LEG-B")
# What a new action list interrupts; anything else (a Speak) completes first. Amazon Chime SDK Developer Guide,
# "Updating in-progress calls" (https://docs.aws.amazon.com/chime-sdk/latest/dg/update-sip-call.html): "If
# Action 2 is not interruptible, it completes before the new Action 1 starts ... Types of interruptible
# actions: PlayAudio, RecordAudio, Pause".
INTERRUPTIBLE_ACTIONS = frozenset({"PlayAudio", "RecordAudio", "Pause"})
MAX_ACTIONS = 10
MAX_TEXT = 1000
STOP_PAUSE_MS = "100"  # the replacing action a stop answers with
POST_TIMEOUT_S = 3.0  # Chime waits about 5 s for the Lambda: a slow receiver must not stall the call

Poster = Callable[[str, bytes, dict[str, str]], None]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The AWS Lambda entry point."""
    return handle(event, env=os.environ)


def handle(
    event: Mapping[str, Any], *, env: Mapping[str, str] | None = None, post: Poster | None = None
) -> dict[str, Any]:
    """One invocation. `env` is the Lambda's environment and `post` sends a callback (both injectable, so
    the emulator can run this very code in-process)."""
    env = os.environ if env is None else env
    post = post or post_json
    kind = str(event.get("InvocationEventType", ""))
    args = _callplay_arguments(event)
    if kind == "CALL_UPDATE_REQUESTED" and args is not None:
        response = _on_update(event, args, env, post)
    else:
        response = _pass_through(event, env, post)
    log.info("callplay: %s -> %s action(s)", kind, len(response.get("Actions") or []))
    return response


# ------------------------------------------------------------------------------------ callplay updates


def _callplay_arguments(event: Mapping[str, Any]) -> dict[str, str] | None:
    params = (event.get("ActionData") or {}).get("Parameters") or {}
    args = params.get("Arguments") if isinstance(params, dict) else None
    if isinstance(args, dict) and args.get("callplay") == "1":
        return {str(k): str(v) for k, v in args.items()}
    return None


def _on_update(event: Mapping[str, Any], args: dict[str, str], env: Mapping[str, str], post: Poster) -> dict[str, Any]:
    attrs = _attributes(event)
    current = attrs.get(ATTR_CONTROL_ID, "")
    action = args.get("action", "")
    if action == "stop":
        return _on_stop(event, args, attrs, env, post)
    try:
        actions = build_actions(args, event)
    except ValueError as exc:
        _report(
            env,
            post,
            args.get("callback_url"),
            event,
            args.get("control_id", ""),
            "failed",
            error_type="InvalidArguments",
            error_message=str(exc),
        )
        return _response([], None)
    if current:  # the new list replaces ours: that playback ends here
        _report(
            env,
            post,
            attrs.get(ATTR_CALLBACK),
            event,
            current,
            "canceled",
            reason=f"replaced by {args.get('control_id', 'another update')}",
        )
    ours = {
        ATTR_CONTROL_ID: args.get("control_id", ""),
        ATTR_KIND: action,
        ATTR_CALLBACK: args.get("callback_url", ""),
        ATTR_ACTIONS: ",".join(sorted({str(a["Type"]) for a in actions})),
    }
    return _response(actions, {**_without_ours(attrs), **{k: v for k, v in ours.items() if v}})


def _on_stop(
    event: Mapping[str, Any], args: dict[str, str], attrs: dict[str, str], env: Mapping[str, str], post: Poster
) -> dict[str, Any]:
    current = attrs.get(ATTR_CONTROL_ID, "")
    wanted = args.get("control_id", "")
    if not current or (wanted and wanted != current):
        return _response([], None)  # nothing of callplay's (or not that playback) is running: keep it all
    # A Pause replaces the rest of callplay's list. (Not an empty list: Chime keeps running actions on a
    # "NULL action set", and whether [] counts as one is not documented.)
    pause = {"Type": "Pause", "Parameters": {"ParticipantTag": _leg(args), "DurationInMilliseconds": STOP_PAUSE_MS}}
    running = {t for t in attrs.get(ATTR_ACTIONS, "").split(",") if t}
    if running and running <= INTERRUPTIBLE_ACTIONS:  # Chime cuts what plays at once: it ends now
        _report(env, post, attrs.get(ATTR_CALLBACK), event, current, "canceled", reason="stopped")
        return _response([pause], {**_without_ours(attrs), ATTR_KIND: "stop"})
    # A Speak may be running (or the list is not known): Chime lets it finish, then runs the Pause. The
    # playback ends when the Pause's list does: report it then (_pass_through), not now.
    return _response([pause], {**attrs, ATTR_KIND: "stop"})


def build_actions(args: Mapping[str, str], event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """callplay's arguments -> Chime actions; ValueError names what is wrong."""
    leg = _leg(args)
    if args.get("action") == "sequence":
        try:
            specs = json.loads(args.get("items", ""))
        except ValueError:
            raise ValueError("items is not a JSON list") from None
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ValueError("items is not a JSON list of objects")
    else:
        specs = [dict(args)]
    if not 1 <= len(specs) <= MAX_ACTIONS:
        raise ValueError(f"{len(specs)} actions; Chime takes 1 to {MAX_ACTIONS} per response")
    return [_action({**_speak_defaults(args), **{k: str(v) for k, v in s.items()}}, leg, event) for s in specs]


def _speak_defaults(args: Mapping[str, str]) -> dict[str, str]:
    return {k: args[k] for k in ("voice", "engine", "language") if args.get(k)}


def _action(spec: dict[str, str], leg: str, event: Mapping[str, Any]) -> dict[str, Any]:
    kind = spec.get("action")
    if kind == "play":
        return _play_audio(spec, leg)
    if kind == "speak":
        return _speak(spec, leg, event)
    if kind == "pause":
        ms = _positive(spec.get("duration_ms"), "duration_ms")
        return {"Type": "Pause", "Parameters": {"ParticipantTag": leg, "DurationInMilliseconds": ms}}
    raise ValueError(f"unknown action {kind!r} (play, speak, pause, sequence or stop)")


def _play_audio(spec: dict[str, str], leg: str) -> dict[str, Any]:
    if not spec.get("bucket") or not spec.get("key"):
        raise ValueError("play needs bucket and key")
    params: dict[str, Any] = {
        "ParticipantTag": leg,
        "AudioSource": {"Type": "S3", "BucketName": spec["bucket"], "Key": spec["key"]},
    }
    repeat = _positive(spec.get("repeat") or "1", "repeat")
    if repeat != "1":
        params["Repeat"] = repeat
    return {"Type": "PlayAudio", "Parameters": params}


def _speak(spec: dict[str, str], leg: str, event: Mapping[str, Any]) -> dict[str, Any]:
    text = spec.get("text", "")
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValueError(f"speak text must be 1 to {MAX_TEXT} characters")
    call_id = _call_id_of(event, leg)
    if call_id is None:
        raise ValueError(f"no {leg} participant on this call")
    params = {"CallId": call_id, "Text": text, "TextType": spec.get("text_type") or "text"}
    if params["TextType"] not in ("text", "ssml"):
        raise ValueError("text_type must be text or ssml")
    optional = {"VoiceId": spec.get("voice"), "Engine": spec.get("engine"), "LanguageCode": spec.get("language")}
    if optional["Engine"] not in (None, "", "standard", "neural"):
        raise ValueError("engine must be standard or neural")
    params.update({k: v for k, v in optional.items() if v})
    return {"Type": "Speak", "Parameters": params}


def _leg(args: Mapping[str, str]) -> str:
    leg = (args.get("participant") or LEGS[0]).upper()
    if leg not in LEGS:
        raise ValueError(f"participant must be LEG-A or LEG-B, not {leg!r}")
    return leg


def _positive(value: str | None, name: str) -> str:
    if value is None or not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number above 0")
    return str(int(value))


def _call_id_of(event: Mapping[str, Any], leg: str) -> str | None:
    for p in (event.get("CallDetails") or {}).get("Participants") or []:
        if isinstance(p, dict) and p.get("ParticipantTag") == leg and p.get("CallId"):
            return str(p["CallId"])
    return None


# --------------------------------------------------------------------------------- everything else


RESULT_STATES = {
    "ACTION_SUCCESSFUL": "finished",
    "ACTION_FAILED": "failed",
    "INVALID_LAMBDA_RESPONSE": "failed",
    "HANGUP": "canceled",
}


def _pass_through(event: Mapping[str, Any], env: Mapping[str, str], post: Poster) -> dict[str, Any]:
    """Report the end of callplay's action list if this is it, then let the user's hook answer."""
    kind = str(event.get("InvocationEventType", ""))
    attrs = _attributes(event)
    current = attrs.get(ATTR_CONTROL_ID, "")
    ours = {k: attrs[k] for k in OUR_ATTRS if k in attrs}
    ended = kind in RESULT_STATES and (current or attrs.get(ATTR_KIND) == "stop")
    if ended and current and attrs.get(ATTR_KIND) == "stop":  # a stop that waited for a Speak to finish
        reason = "hangup" if kind == "HANGUP" else "stopped"
        _report(env, post, attrs.get(ATTR_CALLBACK), event, current, "canceled", reason=reason)
    elif ended and current:
        data = event.get("ActionData") or {}
        _report(
            env,
            post,
            attrs.get(ATTR_CALLBACK),
            event,
            current,
            RESULT_STATES[kind],
            error_type=str(data.get("ErrorType") or event.get("ErrorType") or ""),
            error_message=str(data.get("ErrorMessage") or event.get("ErrorMessage") or ""),
            reason="hangup" if kind == "HANGUP" else "",
        )
    if ended:
        ours = {}  # callplay's list is over: later results belong to the user's actions
    response = _hook(event)
    returned = response.get("TransactionAttributes")
    if ended or isinstance(returned, dict):
        base = _without_ours(returned if isinstance(returned, dict) else attrs)
        response["TransactionAttributes"] = {**base, **ours}
    return response


def _hook(event: Mapping[str, Any]) -> dict[str, Any]:
    response = hooks.user_hook(dict(event))
    if not isinstance(response, dict):
        return {"SchemaVersion": SCHEMA, "Actions": []}
    response.setdefault("SchemaVersion", SCHEMA)
    response.setdefault("Actions", [])
    return response


def _attributes(event: Mapping[str, Any]) -> dict[str, str]:
    attrs = (event.get("CallDetails") or {}).get("TransactionAttributes") or {}
    return {str(k): str(v) for k, v in attrs.items()} if isinstance(attrs, dict) else {}


def _without_ours(attrs: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in attrs.items() if k not in OUR_ATTRS}


def _response(actions: list[dict[str, Any]], attrs: dict[str, str] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"SchemaVersion": SCHEMA, "Actions": actions}
    if attrs is not None:  # Chime replaces the stored map with the one returned: always return all of it
        response["TransactionAttributes"] = attrs
    return response


# ----------------------------------------------------------------------------------------- callbacks


def _report(
    env: Mapping[str, str],
    post: Poster,
    url: str | None,
    event: Mapping[str, Any],
    control_id: str,
    state: str,
    **detail: str,
) -> None:
    """POST one callplay event to the callback URL (when there is one); never raises."""
    if not url or not url.startswith(("http://", "https://")) or not control_id:
        return
    details = event.get("CallDetails") or {}
    payload = {
        "callplay": 1,
        "type": str(event.get("InvocationEventType", "")),
        "state": state,
        "control_id": control_id,
        "transaction_id": details.get("TransactionId"),
        "sip_media_application_id": details.get("SipMediaApplicationId"),
        "sequence": event.get("Sequence"),
        "action": (event.get("ActionData") or {}).get("Type"),
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
        **{k: v for k, v in detail.items() if v},
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "callplay-chime-lambda/1"}
    secret = env.get(SECRET_ENV)
    if secret:
        headers.update(sign(secret, body))
    try:
        post(url, body, headers)
    except Exception as exc:  # the call must go on even when callplay's receiver is gone
        log.warning("callplay: event for %s not delivered: %s", control_id, exc)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers proving the event came from a holder of the secret: HMAC-SHA256 over "<timestamp>.<body>"."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: f"v1={digest}"}


def post_json(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:  # the scheme is checked in _report
        response.read()
