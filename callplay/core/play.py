"""play and loop (a loop is a play with a count, or 0 for until stopped): dry-run, --wait, and Ctrl-C."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from callplay.core.callbacks import profile_callback_url, start_receiver
from callplay.core.checks import check_request
from callplay.core.session import Session, session
from callplay.errors import CallplayError, Interrupted, ProviderRejected, ProviderUnavailable
from callplay.model import Playback, PlayRequest

if TYPE_CHECKING:
    from callplay.events.receiver import EventReceiver


@dataclass
class WaitOptions:
    wait: bool = False
    timeout: float | None = None
    listen: str | None = None  # HOST:PORT for the receiver (behind a tunnel); default 127.0.0.1:0


def play(call_id: str, request: PlayRequest, *, profile: str | None, dry_run: bool, wait: WaitOptions) -> Playback:
    with session(profile) as s:
        check_request(s.provider, request, wait=wait.wait)
        if dry_run:
            return _dry_run(s, call_id, request)
        receiver = start_receiver(s, request, wait.listen) if wait.wait else None
        if request.callback_url is None:
            request.callback_url = profile_callback_url(s)
        try:
            return _play(s, call_id, request, receiver, wait.timeout)
        finally:
            if receiver is not None:
                receiver.stop()


def _play(
    s: Session, call_id: str, request: PlayRequest, receiver: EventReceiver | None, timeout: float | None
) -> Playback:
    started: Playback | None = None
    try:
        started = s.provider.play(call_id, request)
        started.warnings = [*s.warnings, *started.warnings]
        s.ledger.record_playback(started)
        if receiver is not None:
            _wait(s, started, receiver, timeout)
        return started
    except KeyboardInterrupt:
        # Anywhere from the request in flight to the wait: a --wait run must not leave audio playing.
        _interrupted(s, call_id, request.control_id, stop=receiver is not None, sent=started is not None)
        raise  # not reached: _interrupted raises Interrupted


def _dry_run(s: Session, call_id: str, request: PlayRequest) -> Playback:
    request.callback_url = request.callback_url or profile_callback_url(s)
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


def _wait(s: Session, pb: Playback, receiver: EventReceiver, timeout: float | None) -> None:
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
            f"check the audio with `callplay validate-audio URL --target {s.provider.name}`",
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
