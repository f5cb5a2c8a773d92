"""stop, pause, resume and volume: one playback by control ID, or the last one callplay started on the call.

Each verb comes twice: the public function a command calls (it opens a session, checks the provider can do the
verb, and adds the session's warnings), and the `*_in` function that does the verb in a session already open,
which a fan-out (callplay.core.fanout) calls once per call in its workers' sessions.
"""

from __future__ import annotations

from dataclasses import asdict

from callplay.core.checks import check_verb, check_volume, pause_control, volume_control
from callplay.core.session import Session, about_call, session
from callplay.errors import UnsupportedError, UsageError
from callplay.model import TERMINAL_STATES, ControlResult, PlaybackRecord

# ---------------------------------------------------------------------------------------- the commands


def stop(call_id: str, *, control_id: str | None, profile: str | None) -> ControlResult:
    return _one("stop", call_id, control_id, profile)


def pause(call_id: str, *, control_id: str | None, profile: str | None) -> ControlResult:
    return _one("pause", call_id, control_id, profile)


def resume(call_id: str, *, control_id: str | None, profile: str | None) -> ControlResult:
    return _one("resume", call_id, control_id, profile)


def volume(call_id: str, level: str, *, relative: bool, control_id: str | None, profile: str | None) -> ControlResult:
    with about_call(call_id):
        value, is_relative = parse_volume(level, relative)
        if not is_relative:
            check_volume(value)  # before anything else: nothing is sent for an impossible level
    return _one("volume", call_id, control_id, profile, db=value, relative=is_relative)


def _one(
    action: str, call_id: str, control_id: str | None, profile: str | None, *, db: float = 0.0, relative: bool = False
) -> ControlResult:
    with about_call(call_id), session(profile) as s:
        check_control(s, action)
        result = control_in(s, action, call_id, control_id, db, relative)
        result.warnings = [*s.warnings, *result.warnings]
        return result


def parse_volume(text: str, relative: bool) -> tuple[float, bool]:
    """'-6' is absolute; '+3' (or any value with --relative) is relative to the last known level."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"volume {text!r} is not a number of dB", "e.g. callplay volume CALL -6, or +3") from None
    return value, relative or text.startswith("+")


# ------------------------------------------------------------------------------------ in an open session


def check_control(s: Session, action: str) -> None:
    """The provider can do `action` (stop, pause, resume or volume) at all: checked before any request."""
    if action == "stop":
        check_verb(s.provider, "stop")
    elif action == "volume":
        volume_control(s.provider)
    else:
        pause_control(s.provider, action)


def control_in(
    s: Session, action: str, call_id: str, control_id: str | None, db: float = 0.0, relative: bool = False
) -> ControlResult:
    """One call's stop, pause, resume or volume (`db`, absolute and already checked, or `relative` to the
    playback's last known level) in session `s`; the caller has checked the provider can (check_control)."""
    if action == "stop":
        return stop_in(s, call_id, control_id)
    if action == "volume":
        return volume_in(s, call_id, control_id, db, relative)
    return pause_in(s, action, call_id, control_id)


def stop_in(s: Session, call_id: str, control_id: str | None) -> ControlResult:
    cid, record = _target(s, call_id, control_id)
    result = s.provider.stop(call_id, control_id=cid, record=record)
    if result.still_playing:
        # The provider could not end all of it: saying "stopped" would be false, so the run fails (exit 4)
        # with what keeps playing; the ledger keeps the playback active until its end event, if any.
        result.state = "stopping"
        result.failure = still_playing_error(result)
        result.exit_code = int(result.failure.exit_code)
    if result.control_id:
        s.ledger.update_playback(result.control_id, state=result.state)
    if s.caps.stop_scope == "call":
        _mark_call_stopped(s, call_id, result.state)
    return result


def pause_in(s: Session, action: str, call_id: str, control_id: str | None) -> ControlResult:
    """`action` is pause or resume."""
    cid, record = _required_target(s, call_id, control_id)
    control = pause_control(s.provider, action)
    send = control.pause if action == "pause" else control.resume
    result = send(call_id, control_id=cid, record=record)
    s.ledger.update_playback(cid, state=result.state)
    return result


def volume_in(s: Session, call_id: str, control_id: str | None, db: float, relative: bool) -> ControlResult:
    cid, record = _required_target(s, call_id, control_id)
    level = db
    if relative:
        level = (record.volume_db if record and record.volume_db is not None else 0.0) + db
        check_volume(level)
    result = volume_control(s.provider).volume(call_id, control_id=cid, db=level, record=record)
    s.ledger.update_playback(cid, volume_db=level)
    result.volume_db = level
    return result


def still_playing_error(result: ControlResult) -> UnsupportedError:
    """What a stop could not end, as the error a user sees: what keeps playing, for how long, and why."""
    first = result.still_playing[0]
    what = "; ".join(item.describe() for item in result.still_playing)
    return UnsupportedError(
        f"{what}: {first.reason}",
        first.hint,
        code="still_playing",
        detail={"still_playing": [asdict(item) for item in result.still_playing]},
    )


def _mark_call_stopped(s: Session, call_id: str, state: str) -> None:
    """The provider stopped every media operation on the call: so does our record of them."""
    for other in s.ledger.for_call(call_id, s.profile.name):
        if other.state not in TERMINAL_STATES and other.state != "dry-run":
            s.ledger.update_playback(other.control_id, state=state)


def _target(s: Session, call_id: str, control_id: str | None) -> tuple[str | None, PlaybackRecord | None]:
    """The playback named, else the last active one callplay started on the call, else the last one."""
    if control_id:
        return control_id, s.ledger.get(control_id)
    record = s.ledger.last_for_call(call_id, s.profile.name, active_only=True) or s.ledger.last_for_call(
        call_id, s.profile.name
    )
    return (record.control_id if record else None), record


def _required_target(s: Session, call_id: str, control_id: str | None) -> tuple[str, PlaybackRecord | None]:
    cid, record = _target(s, call_id, control_id)
    if cid is None:
        raise UsageError(
            f"callplay has no playback on call {call_id} with profile {s.profile.name}",
            "pass --control-id ID (see callplay stream-status CALL)",
        )
    return cid, record
