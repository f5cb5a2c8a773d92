"""The core: resolve the profile, check capabilities, call the provider once, record, return a typed result.

The CLI calls exactly one function here per command. Nothing here prints: warnings travel on the results.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from callplay.config import DEMO_ACCESS_KEY, Profile, resolve_profile
from callplay.errors import (
    CallplayError,
    ConfigError,
    Interrupted,
    ProviderRejected,
    ProviderUnavailable,
    UnsupportedError,
    UsageError,
)
from callplay.ledger import Ledger
from callplay.model import (
    TERMINAL_STATES,
    Audio,
    CallStatus,
    ControlResult,
    EventList,
    Playback,
    PlayRequest,
    Silence,
    Ssml,
    Tts,
)
from callplay.providers.base import Capabilities, Provider

VOLUME_RANGE = (-40.0, 40.0)


@dataclass
class Session:
    profile: Profile
    provider: Provider
    ledger: Ledger
    emulator: Any = None  # the embedded emulator, for the demo profile
    warnings: list[str] = field(default_factory=list)

    @property
    def caps(self) -> Capabilities:
        return self.provider.capabilities

    @property
    def display(self) -> str:
        return self.provider.display_name


def _start_embedded(profile: Profile) -> Any:
    """The demo profile's emulator: in this process, accepting any call id, at real-time speed."""
    from callplay.emulator.app import EmulatorServer, default_faces
    from callplay.emulator.state import World

    world = World(auto_create=True)
    world.credentials["acs"] = {"access_key": profile.get("access_key") or DEMO_ACCESS_KEY}
    return EmulatorServer(world, default_faces(["acs"]), tls_port=None).start()


@contextmanager
def session(profile_name: str | None, overrides: dict[str, Any] | None = None) -> Iterator[Session]:
    from callplay.providers import provider_class

    profile = resolve_profile(profile_name, overrides)
    emulator = None
    if profile.get("endpoint") == "embedded":
        emulator = _start_embedded(profile)
        profile.settings = profile.settings.model_copy(update={"endpoint": emulator.http_url})
    provider: Provider | None = None
    try:
        try:
            provider = provider_class(profile.provider)(profile.settings, profile=profile.name)
        except ConfigError as err:
            if profile.warnings:  # e.g. a secret ignored in a world-readable file: that is the real cause
                err.hint = "; ".join([*profile.warnings, err.hint or ""]).strip("; ")
            raise
        warnings = [*profile.warnings, *getattr(provider, "warnings", [])]
        yield Session(profile, provider, Ledger.default(), emulator, warnings)
    finally:
        if provider is not None:
            with suppress(Exception):
                provider.close()
        if emulator is not None:
            emulator.stop()


# ------------------------------------------------------------------------------------------ capabilities


def unsupported(s: Session, what: str, note_key: str, fallback: str) -> UnsupportedError:
    return UnsupportedError(f"{s.display} {what}", s.caps.notes.get(note_key, fallback))


VERB_PHRASES = {
    "pause": "pause a playback",
    "resume": "resume a playback",
    "volume": "change a playback's volume",
    "stop": "stop a playback",
    "loop": "loop a playback",
    "play": "play into a call",
    "status": "report a call's status",
}


def check_verb(s: Session, verb: str) -> None:
    if verb not in s.caps.verbs:
        raise unsupported(
            s,
            f"({s.profile.provider}) cannot {VERB_PHRASES.get(verb, verb)}",
            verb,
            "use `callplay stop CALL` and play again",
        )


def check_volume(db: float) -> None:
    lo, hi = VOLUME_RANGE
    if not lo <= db <= hi:
        raise UsageError(f"volume {db:+g} dB is outside {lo:g}..{hi:+g} dB", "give a level between -40 and +40 dB")


def check_request(s: Session, request: PlayRequest, *, wait: bool) -> None:
    caps = s.caps
    check_verb(s, "loop" if request.is_loop else "play")
    if not request.items:
        raise UsageError("nothing to play", "give a SOURCE (URL, file, tts:TEXT, ...) or --tts TEXT")
    if request.loop < 0:
        raise UsageError("--times must be 1 or more", "use `callplay loop` without --times to loop until stopped")
    if request.loop == 0 and not caps.loop_forever:
        bound = f" (at most {caps.max_loop} times)" if caps.max_loop else ""
        raise unsupported(s, f"cannot loop until stopped{bound}", "loop_forever", f"use --times N{bound}")
    if request.loop > 1 and not caps.loop_count:
        raise unsupported(s, f"cannot play a prompt {request.loop} times", "loop_count", "loop until stopped")
    if caps.max_loop and request.loop > caps.max_loop:
        raise unsupported(s, f"repeats a prompt at most {caps.max_loop} times", "loop_count", "lower --times")
    if request.volume_db is not None:
        check_volume(request.volume_db)
        if not caps.volume_at_start:
            raise unsupported(s, "cannot set a playback's volume", "volume_at_start", "adjust the file's level")
    if request.targets and not caps.targets:
        raise unsupported(s, "cannot play to chosen participants", "targets", "play to everyone")
    if len(request.items) > 1 and not caps.multi_items:
        raise unsupported(s, "plays one item at a time", "multi_items", "run one play per item")
    if wait and not caps.events:
        raise unsupported(s, "sends no playback events, so --wait cannot tell when it ends", "wait", "drop --wait")
    for item in request.items:
        _check_item(s, item)


def _check_item(s: Session, item: Any) -> None:
    caps = s.caps
    if isinstance(item, Tts) and not caps.tts:
        raise unsupported(s, "has no text-to-speech", "tts", "play a recorded prompt")
    if isinstance(item, Ssml) and not caps.ssml:
        raise unsupported(s, "does not take SSML", "ssml", "use --tts with plain text")
    if isinstance(item, Silence) and not caps.silence:
        raise unsupported(s, "has no silence source", "silence", "pad the audio file with silence")
    if isinstance(item, Audio):
        if item.is_local and not caps.local_files:
            raise unsupported(s, f"cannot play the local file {item.uri}", "local_files", "pass an https URL")
        if item.is_s3 and not caps.s3_sources:
            raise unsupported(s, f"cannot play {item.uri}", "s3_sources", "pass an https URL")


# -------------------------------------------------------------------------------------------------- play


@dataclass
class WaitOptions:
    wait: bool = False
    timeout: float | None = None
    listen: str | None = None  # HOST:PORT for the receiver (behind a tunnel); default 127.0.0.1:0


def play(call_id: str, request: PlayRequest, *, profile: str | None, dry_run: bool, wait: WaitOptions) -> Playback:
    with session(profile) as s:
        check_request(s, request, wait=wait.wait)
        if dry_run:
            return _dry_run(s, call_id, request)
        receiver = _receiver(s, request, wait.listen) if wait.wait else None
        if request.callback_url is None:
            request.callback_url = _profile_callback(s)
        started: Playback | None = None
        try:
            started = s.provider.play(call_id, request)
            started.warnings = [*s.warnings, *started.warnings]
            s.ledger.record_playback(started)
            if receiver is not None:
                _wait(s, started, receiver, wait.timeout)
            return started
        except KeyboardInterrupt:
            # Anywhere from the request in flight to the wait: a --wait run must not leave audio playing.
            _interrupted(s, call_id, request.control_id, stop=receiver is not None, sent=started is not None)
            raise  # not reached: _interrupted raises Interrupted
        finally:
            if receiver is not None:
                receiver.stop()


def _dry_run(s: Session, call_id: str, request: PlayRequest) -> Playback:
    request.callback_url = request.callback_url or _profile_callback(s)
    return Playback(
        control_id=request.control_id,
        call_id=call_id,
        profile=s.profile.name,
        provider=s.profile.provider,
        state="dry-run",
        sources=request.sources(),
        loop=request.loop,
        targets=request.targets,
        volume_db=request.volume_db,
        request=s.provider.describe_play(call_id, request),
        warnings=s.warnings,
    )


def _profile_callback(s: Session) -> str | None:
    base = s.profile.get("callback_url")
    if not base:
        return None
    return _with_token(str(base), s.profile.get("callback_token"))


def _with_token(url: str, token: str | None) -> str:
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}token={token}"


def _receiver(s: Session, request: PlayRequest, listen: str | None) -> Any:
    from callplay.events.receiver import EventReceiver

    host, port = "127.0.0.1", 0
    if listen:
        host, _, port_text = listen.rpartition(":")
        if not port_text.isdigit():
            raise UsageError(f"--listen {listen!r} is not HOST:PORT", "e.g. --listen 0.0.0.0:8080")
        port = int(port_text)
    token = s.profile.get("callback_token") or secrets.token_urlsafe(16)
    provider = s.profile.provider
    receiver = EventReceiver(
        s.ledger,
        host=host or "127.0.0.1",
        port=port,
        secrets={provider: _receiver_secret(s, token)},
    ).start()
    if request.callback_url is None:
        # Our own receiver is reached directly: a per-run token keeps strangers' posts out (ACS).
        url = receiver.url(provider)
        request.callback_url = _with_token(url, token) if provider == "acs" else url
    elif provider == "acs":
        request.callback_url = _with_token(request.callback_url, token)
    if provider != "acs":
        receiver.public_urls[provider] = request.callback_url
    else:
        receiver.public_urls.pop(provider, None)
    return receiver


def _receiver_secret(s: Session, token: str) -> str | None:
    provider = s.profile.provider
    if provider == "acs":
        return token
    for key in ("signing_key", "signature_secret", "callback_secret"):
        value = s.profile.get(key)
        if value:
            return str(value)
    return None


def _wait(s: Session, pb: Playback, receiver: Any, timeout: float | None) -> None:
    events, finished = receiver.wait_for(pb.control_id, timeout, pb.call_id)
    pb.events = events
    if events:
        pb.state = next((e.state for e in reversed(events) if e.state), pb.state)
    if not finished:
        pb.exit_code = int(ProviderUnavailable.exit_code)
        pb.failure = ProviderUnavailable(
            f"no end event for {pb.control_id} within {timeout:g} s",
            f"it may still be playing: callplay stop {pb.call_id} --control-id {pb.control_id}",
            code="timeout",
        )
    elif events and events[-1].type == "CallDisconnected":
        pb.state = "canceled"
        s.ledger.update_playback(pb.control_id, state="canceled", last_event="CallDisconnected")
        pb.exit_code = int(ProviderRejected.exit_code)
        pb.failure = ProviderRejected(
            f"call {pb.call_id} ended before playback {pb.control_id} finished",
            "the other party hung up, or the call was ended",
            code="call_ended",
        )
    elif pb.state == "failed":
        last = events[-1]
        pb.exit_code = int(ProviderRejected.exit_code)
        pb.failure = ProviderRejected(
            f"playback {pb.control_id} failed: {last.type} {last.summary()}".strip(),
            "check the audio with `callplay validate-audio URL --target " + s.profile.provider + "`",
            code="play_failed",
        )


def _interrupted(s: Session, call_id: str, control_id: str, *, stop: bool, sent: bool) -> None:
    """Ctrl-C or SIGTERM during play: with --wait, stop the playback on the call so no hold music is
    orphaned (also when the request was still in flight: it may have arrived); then exit 130."""
    if not stop:
        raise Interrupted(
            f"interrupted while starting playback {control_id}",
            f"it may have started: callplay stop {call_id} --control-id {control_id}",
        )
    record = s.ledger.get(control_id)
    try:
        s.provider.stop(call_id, control_id=control_id, record=record)
    except CallplayError as err:
        if sent:
            s.ledger.update_playback(control_id, last_event="stop failed after interrupt")
            raise Interrupted(
                f"interrupted, and stopping playback {control_id} failed: {err.message}",
                f"stop it by hand: callplay stop {call_id} --control-id {control_id}",
            ) from None
        # The play request never completed: there was likely nothing to stop.
    if sent:
        s.ledger.update_playback(control_id, state="stopped")
    raise Interrupted(f"interrupted: stopped playback {control_id} on call {call_id}", "nothing is left playing")


# ------------------------------------------------------------------------------------------------ control


def _target(s: Session, call_id: str, control_id: str | None, *, required: bool) -> tuple[str | None, Any]:
    if control_id:
        return control_id, s.ledger.get(control_id)
    record = s.ledger.last_for_call(call_id, s.profile.name, active_only=True) or s.ledger.last_for_call(
        call_id, s.profile.name
    )
    if record is None and required:
        raise UsageError(
            f"callplay has no playback on call {call_id} with profile {s.profile.name}",
            "pass --control-id ID (see callplay stream-status CALL)",
        )
    return (record.control_id if record else None), record


def stop(call_id: str, *, control_id: str | None, profile: str | None) -> ControlResult:
    with session(profile) as s:
        check_verb(s, "stop")
        cid, record = _target(s, call_id, control_id, required=False)
        result = s.provider.stop(call_id, control_id=cid, record=record)
        if result.control_id:
            s.ledger.update_playback(result.control_id, state=result.state)
        if s.profile.provider == "acs":
            # ACS stops every media operation on the call: so does our record of them.
            for other in s.ledger.for_call(call_id, s.profile.name):
                if other.state not in TERMINAL_STATES and other.state != "dry-run":
                    s.ledger.update_playback(other.control_id, state=result.state)
        result.warnings = [*s.warnings, *result.warnings]
        return result


def control(verb: str, call_id: str, *, control_id: str | None, profile: str | None) -> ControlResult:
    """pause or resume."""
    with session(profile) as s:
        check_verb(s, verb)
        cid, record = _target(s, call_id, control_id, required=True)
        assert cid is not None
        method = getattr(s.provider, verb)
        result: ControlResult = method(call_id, control_id=cid, record=record)
        s.ledger.update_playback(cid, state=result.state)
        result.warnings = [*s.warnings, *result.warnings]
        return result


def parse_volume(text: str, relative: bool) -> tuple[float, bool]:
    """'-6' is absolute; '+3' (or any value with --relative) is relative to the last known level."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"volume {text!r} is not a number of dB", "e.g. callplay volume CALL -6, or +3") from None
    return value, relative or text.startswith("+")


def volume(call_id: str, level: str, *, relative: bool, control_id: str | None, profile: str | None) -> ControlResult:
    value, is_relative = parse_volume(level, relative)
    if not is_relative:
        check_volume(value)  # before anything else: nothing is sent for an impossible level
    with session(profile) as s:
        check_verb(s, "volume")
        cid, record = _target(s, call_id, control_id, required=True)
        assert cid is not None
        db = value
        if is_relative:
            base = record.volume_db if record and record.volume_db is not None else 0.0
            db = base + value
            check_volume(db)
        result = s.provider.volume(call_id, control_id=cid, db=db, record=record)
        s.ledger.update_playback(cid, volume_db=db)
        result.volume_db = db
        result.warnings = [*s.warnings, *result.warnings]
        return result


# ------------------------------------------------------------------------------------------------- status


def stream_status(call_id: str, *, profile: str | None) -> CallStatus:
    with session(profile) as s:
        # Providers without a call status API (Chime) return state None with a note saying why.
        status = s.provider.status(call_id)
        status.playbacks = [r for r in s.ledger.for_call(call_id, s.profile.name) if r.state != "dry-run"]
        status.warnings = [*s.warnings, *status.warnings]
        return status


def events_list(*, control_id: str | None, call_id: str | None, profile: str | None, limit: int) -> EventList:
    ledger = Ledger.default()
    return EventList(ledger.events(control_id=control_id, call_id=call_id, profile=profile, limit=limit))


@dataclass
class ListenResult:
    received: int
    rejected: int
    urls: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"received": self.received, "rejected": self.rejected, "urls": self.urls}

    def to_tables(self) -> list[Any]:
        from callplay.model import TableSpec

        return [TableSpec("Listener", ["received", "rejected"], [[str(self.received), str(self.rejected)]])]


def _listen_secrets(profile: str | None) -> dict[str, str | None]:
    """Signature secrets from the profile, when there is one to read; the receiver checks what it can."""
    from callplay.errors import ConfigError

    try:
        p = resolve_profile(profile)
    except ConfigError:
        if profile:
            raise
        return {}
    for key in ("callback_token", "signing_key", "signature_secret", "callback_secret"):
        value = p.get(key)
        if value:
            return {p.provider: str(value)}
    return {}


def listen(
    *,
    host: str,
    port: int,
    count: int | None,
    timeout: float | None,
    profile: str | None,
    on_ready: Any,
    on_event: Any,
) -> ListenResult:
    import time

    from callplay.events.receiver import EventReceiver
    from callplay.providers import PROVIDERS

    receiver = EventReceiver(
        Ledger.default(), host=host, port=port, secrets=_listen_secrets(profile), on_event=on_event
    )
    receiver.start()
    urls = {name: receiver.url(name) for name in PROVIDERS}
    on_ready(urls)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while (count is None or len(receiver.events) < count) and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped listening after {len(receiver.events)} event(s)", None) from None
    finally:
        receiver.stop()
    return ListenResult(len(receiver.events), receiver.rejected, urls)


@dataclass
class EmulatorSummary:
    faces: list[str]
    calls: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"faces": self.faces, "calls": self.calls}

    def to_tables(self) -> list[Any]:
        return []


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
    write_config: Any,
    state_dir: Any,
    on_ready: Any,
) -> EmulatorSummary:
    from callplay.emulator.app import FACE_NAMES, EmulatorServer, default_faces
    from callplay.emulator.state import World

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

    def ready(srv: Any) -> None:
        for call_id in calls:
            created.append(world.create_call(call_id).id)
        for _ in range(n_calls):
            created.append(world.create_call().id)
        if write_config is not None:
            srv.write_config(write_config)
        on_ready(
            {
                "faces": [f.name for f in srv.faces],
                "http": srv.http_url,
                "https": srv.https_url,
                "ca_file": str(srv.tls.ca_file) if srv.tls else None,
                "calls": created,
                "config": str(write_config) if write_config else None,
                "profiles": list(srv.config_dict()["profiles"]),
            }
        )

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
