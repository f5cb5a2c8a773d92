"""play and loop (a loop is a play with a count, or 0 for until stopped): dry-run, --wait, and Ctrl-C."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from callplay import interrupts
from callplay.core.callbacks import callback_url_for, known_secrets, start_receiver
from callplay.core.checks import check_request
from callplay.core.control import still_playing_error
from callplay.core.session import Session, about_call, session
from callplay.errors import CallplayError, Interrupted, ProviderRejected, ProviderUnavailable
from callplay.model import Event, Playback, PlaybackRecord, PlayRequest
from callplay.retry import MAY_HAVE_STARTED

if TYPE_CHECKING:
    from callplay.events.receiver import EventReceiver


@dataclass
class WaitOptions:
    wait: bool = False
    timeout: float | None = None
    listen: str | None = None  # HOST:PORT for the receiver (behind a tunnel); default 127.0.0.1:0


class PlayWatcher(Protocol):
    """Who follows a playback while play runs (the CLI's live rows): told once the provider has accepted it and
    the ledger holds it, then of each of its events as --wait receives them, in the main thread. The core
    stays render-free: what a watcher shows, and where, is callplay.live's business."""

    def accepted(self, pb: Playback) -> None: ...

    def event(self, e: Event) -> None: ...


def play(
    call_id: str,
    request: PlayRequest,
    *,
    profile: str | None,
    dry_run: bool,
    wait: WaitOptions,
    watcher: PlayWatcher | None = None,
) -> Playback:
    with about_call(call_id), session(profile) as s:
        check_request(s.provider, request, wait=wait.wait)
        if dry_run:
            return _dry_run(s, call_id, request)
        receiver = start_receiver(s, request, wait.listen) if wait.wait else None
        if receiver is None:  # --wait has pointed the callbacks at its own receiver, with its own token
            request.callback_url = callback_url_for(s, request.callback_url)
        try:
            return _play(s, call_id, request, receiver, wait.timeout, watcher)
        finally:
            if receiver is not None:
                receiver.stop()


def _play(
    s: Session,
    call_id: str,
    request: PlayRequest,
    receiver: EventReceiver | None,
    timeout: float | None,
    watcher: PlayWatcher | None,
) -> Playback:
    started: Playback | None = None
    try:
        started = s.provider.play(call_id, request)
        started.warnings = [*s.warnings, *started.warnings]
        s.ledger.record_playback(started)
        interrupts.raise_if_pending()  # a signal during the request whose KeyboardInterrupt was lost
        if watcher is not None:
            watcher.accepted(started)
        if receiver is not None:
            _wait(s, started, receiver, timeout, watcher)
        return started
    except ProviderUnavailable as err:
        if started is None and (err.hint or "").startswith(MAY_HAVE_STARTED):
            # The answer was lost after the play was sent: keep a record, so `callplay stop CALL` finds it.
            s.ledger.record_playback(_unknown(s, call_id, request))
        raise
    except KeyboardInterrupt:
        # Anywhere from the request in flight to the wait: a --wait run must not leave audio playing.
        _interrupted(s, call_id, request, stop=receiver is not None, started=started)
        raise  # not reached: _interrupted raises Interrupted


def _unknown(s: Session, call_id: str, request: PlayRequest) -> Playback:
    return _playback_of(s, call_id, request, "unknown")


def _dry_run(s: Session, call_id: str, request: PlayRequest) -> Playback:
    from callplay.redact import redact

    # The URL play would send, without minting a token for it; the token (and any other secret) is masked.
    request.callback_url = callback_url_for(s, request.callback_url, mint=False)
    pb = _playback_of(s, call_id, request, "dry-run")
    pb.request = redact(s.provider.describe_play(call_id, request), known_secrets(s.profile))
    pb.warnings = s.warnings
    return pb


def _playback_of(s: Session, call_id: str, request: PlayRequest, state: str) -> Playback:
    """The playback `request` describes, as callplay knows it before the provider has answered."""
    return Playback(
        control_id=request.control_id,
        call_id=call_id,
        profile=s.profile.name,
        provider=s.profile.provider,
        state=state,
        sources=request.sources(),
        loop=request.loop,
        targets=request.targets,
        volume_db=request.volume_db,
    )


def _wait(
    s: Session, pb: Playback, receiver: EventReceiver, timeout: float | None, watcher: PlayWatcher | None
) -> None:
    on_event = watcher.event if watcher is not None else None
    events, finished = receiver.wait_for(
        pb.control_id, timeout, pb.call_id, provider=s.provider.name, on_event=on_event
    )
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
            f"check the audio with `callplay validate-audio URL --target {s.provider.name}`",
            code="play_failed",
        )


def _interrupted(s: Session, call_id: str, request: PlayRequest, *, stop: bool, started: Playback | None) -> None:
    """Ctrl-C or SIGTERM during play: with --wait, stop the playback on the call so no hold music is
    orphaned (also when the request was still in flight: it may have arrived); then exit 130, saying what
    keeps playing when the provider could not stop all of it (a Chime Speak)."""
    control_id = request.control_id
    if not stop:
        raise Interrupted(
            f"interrupted while starting playback {control_id}",
            f"it may have started: callplay stop {call_id} --control-id {control_id}",
        )
    sent = started is not None
    record = s.ledger.get(control_id)
    if record is None and started is not None:
        # Interrupted between the provider's answer and the ledger: the stop needs what play learnt (Chime's
        # leg and the playback's items), and the ledger must show how it ended.
        s.ledger.record_playback(started)
        record = s.ledger.get(control_id)
    elif record is None:
        # Still in flight: the provider may have started it. What was asked stands in for the record (not kept
        # in the ledger: callplay does not know it started), so the provider can tell what may keep playing.
        record = _requested(s, call_id, request)
    try:
        result = s.provider.stop(call_id, control_id=control_id, record=record)
    except CallplayError as err:
        if sent:
            s.ledger.update_playback(control_id, last_event="stop failed after interrupt")
            raise Interrupted(
                f"interrupted, and stopping playback {control_id} failed: {err.message}",
                f"stop it by hand: callplay stop {call_id} --control-id {control_id}",
            ) from None
        # The play request was in flight: whether it started is not known, so neither is "nothing plays".
        raise Interrupted(
            f"interrupted while starting playback {control_id}, and stopping it failed: {err.message}",
            f"it may have started: callplay stop {call_id} --control-id {control_id}",
        ) from None
    if result.still_playing:
        if sent:
            s.ledger.update_playback(control_id, state="stopping")
        else:
            for item in result.still_playing:
                item.likely = False  # the play itself may never have arrived
        unstopped = still_playing_error(result)
        raise Interrupted(
            f"interrupted: stopped what could be stopped of playback {control_id} on call {call_id}, but "
            f"{unstopped.message}",
            unstopped.hint,
            detail=unstopped.detail,
        )
    if sent:
        s.ledger.update_playback(control_id, state=result.state)
    raise Interrupted(f"interrupted: stopped playback {control_id} on call {call_id}", "nothing is left playing")


def _requested(s: Session, call_id: str, request: PlayRequest) -> PlaybackRecord:
    pb = _playback_of(s, call_id, request, "requested")
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
        updated_at=pb.created_at,
        last_event=None,
    )
