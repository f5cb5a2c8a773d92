"""The one place capabilities are checked: an unsupported verb or request feature is refused here, before
the provider is called, with exit code 4 and the provider's own note on what to do instead."""

from __future__ import annotations

from callplay.errors import UnsupportedError, UsageError
from callplay.model import Audio, PlayItem, PlayRequest, Silence, Ssml, Tts
from callplay.providers.base import PauseControl, Provider, VolumeControl
from callplay.providers.facts import VOLUME_RANGE_DB

_VERB_PHRASES = {
    "pause": "pause a playback",
    "resume": "resume a playback",
    "volume": "change a playback's volume",
    "stop": "stop a playback",
    "loop": "loop a playback",
    "play": "play into a call",
    "status": "report a call's status",
}


def _unsupported(provider: Provider, what: str, note_key: str, fallback: str) -> UnsupportedError:
    return UnsupportedError(f"{provider.display_name} {what}", provider.capabilities.notes.get(note_key, fallback))


def check_verb(provider: Provider, verb: str) -> None:
    if verb not in provider.capabilities.verbs:
        raise _unsupported(
            provider,
            f"({provider.name}) cannot {_VERB_PHRASES.get(verb, verb)}",
            verb,
            "use `callplay stop CALL` and play again",
        )


def pause_control(provider: Provider, verb: str) -> PauseControl:
    """The provider as one that pauses and resumes, once `verb` (pause or resume) is known to be declared."""
    check_verb(provider, verb)
    if not isinstance(provider, PauseControl):
        raise TypeError(f"{type(provider).__name__} declares {verb} but has no pause and resume")
    return provider


def volume_control(provider: Provider) -> VolumeControl:
    """The provider as one that changes a running playback's volume, once that verb is known to be declared."""
    check_verb(provider, "volume")
    if not isinstance(provider, VolumeControl):
        raise TypeError(f"{type(provider).__name__} declares volume but has no volume method")
    return provider


def check_volume(db: float) -> None:
    lo, hi = VOLUME_RANGE_DB
    if not lo <= db <= hi:
        raise UsageError(
            f"volume {db:+g} dB is outside {lo:g}..{hi:+g} dB", f"give a level between {lo:g} and {hi:+g} dB"
        )


def check_request(provider: Provider, request: PlayRequest, *, wait: bool) -> None:
    check_verb(provider, "loop" if request.is_loop else "play")
    if not request.items:
        raise UsageError("nothing to play", "give a SOURCE (URL, file, tts:TEXT, ...) or --tts TEXT")
    _check_loop(provider, request.loop)
    caps = provider.capabilities
    if request.volume_db is not None:
        check_volume(request.volume_db)
        if not caps.volume_at_start:
            raise _unsupported(provider, "cannot set a playback's volume", "volume_at_start", "adjust the file's level")
    if request.targets and not caps.targets:
        raise _unsupported(provider, "cannot play to chosen participants", "targets", "play to everyone")
    if len(request.items) > 1 and not caps.multi_items:
        raise _unsupported(provider, "plays one item at a time", "multi_items", "run one play per item")
    if wait and not caps.events:
        raise _unsupported(
            provider, "sends no playback events, so --wait cannot tell when it ends", "wait", "drop --wait"
        )
    for item in request.items:
        _check_item(provider, item)


def _check_loop(provider: Provider, loop: int) -> None:
    caps = provider.capabilities
    if loop < 0:
        raise UsageError("--times must be 1 or more", "use `callplay loop` without --times to loop until stopped")
    if loop == 0 and not caps.loop_forever:
        bound = f" (at most {caps.max_loop} times)" if caps.max_loop else ""
        raise _unsupported(provider, f"cannot loop until stopped{bound}", "loop_forever", f"use --times N{bound}")
    if loop > 1 and not caps.loop_count:
        raise _unsupported(provider, f"cannot play a prompt {loop} times", "loop_count", "loop until stopped")
    if caps.max_loop and loop > caps.max_loop:
        raise _unsupported(provider, f"repeats a prompt at most {caps.max_loop} times", "loop_count", "lower --times")


def _check_item(provider: Provider, item: PlayItem) -> None:
    caps = provider.capabilities
    if isinstance(item, Tts) and not caps.tts:
        raise _unsupported(provider, "has no text-to-speech", "tts", "play a recorded prompt")
    if isinstance(item, Ssml) and not caps.ssml:
        raise _unsupported(provider, "does not take SSML", "ssml", "use --tts with plain text")
    if isinstance(item, Silence) and not caps.silence:
        raise _unsupported(provider, "has no silence source", "silence", "pad the audio file with silence")
    if isinstance(item, Audio):
        if item.is_local and not caps.local_files:
            raise _unsupported(provider, f"cannot play the local file {item.uri}", "local_files", "pass an https URL")
        if item.is_s3 and not caps.s3_sources:
            raise _unsupported(provider, f"cannot play {item.uri}", "s3_sources", "pass an https URL")
