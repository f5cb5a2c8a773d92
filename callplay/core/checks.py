"""The one place capabilities are checked: an unsupported verb or request feature is refused here, before
the provider is called, with exit code 4 and the provider's own note on what to do instead."""

from __future__ import annotations

import math
from xml.etree import ElementTree

from callplay.errors import UnsupportedError, UsageError
from callplay.model import Audio, PlayItem, PlayRequest, Silence, Ssml, Tts
from callplay.providers import PROVIDER_NAMES, provider_facts
from callplay.providers.base import PauseControl, Provider, VolumeControl
from callplay.providers.facts import TTS_OPTION_KEYS, VOLUME_RANGE_DB

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
    if not (math.isfinite(db) and lo <= db <= hi):
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
    _check_extras(provider, request)


def _check_loop(provider: Provider, loop: int) -> None:
    caps = provider.capabilities
    if loop < 0:
        raise UsageError("--times must be 1 or more", "use `callplay loop` without --times to loop until stopped")
    if loop == 0 and not caps.loop_forever:
        bound = f" (at most {caps.max_loop} times)" if caps.max_loop else ""
        raise _unsupported(provider, f"cannot loop until stopped{bound}", "loop_forever", f"use --times N{bound}")
    if loop > 1 and not caps.loop_count:
        raise _unsupported(provider, f"cannot play a prompt {loop} times", "loop_count", "loop until stopped")
    # The API's own maximum (facts) and a profile's narrower one (capabilities, e.g. Chime's repeat_max).
    bounds = [b for b in (caps.max_loop, provider_facts(provider.name).max_loop) if b]
    if bounds and loop > min(bounds):
        raise _unsupported(provider, f"repeats a prompt at most {min(bounds)} times", "loop_count", "lower --times")


def _check_extras(provider: Provider, request: PlayRequest) -> None:
    """--direction, --cache-id and --option KEY=VALUE against what the provider declares in its facts: what
    it cannot do at all is exit 4, a value it does not take exit 2; nothing is ignored without a word."""
    facts = provider_facts(provider.name)
    if request.direction is not None:
        if not facts.directions:
            raise _unsupported(
                provider, "has no playback direction (--direction)", "direction", "leave out --direction"
            )
        if request.direction not in facts.directions:
            raise UsageError(
                f"unknown --direction {request.direction!r} for {provider.display_name}",
                f"use --direction {' or '.join(facts.directions)}",
            )
    if request.cache_id is not None and not facts.cache_id:
        raise _unsupported(provider, "has no play source cache (--cache-id)", "cache_id", "leave out --cache-id")
    takes = (*(TTS_OPTION_KEYS if provider.capabilities.tts else ()), *facts.options)
    taken_text = ", ".join(takes) if takes else "none"
    for key in request.options:
        if key in takes:
            continue
        if any(key in provider_facts(name).options for name in PROVIDER_NAMES):
            raise _unsupported(
                provider, f"has no option {key!r}", "options", f"{provider.display_name} takes --option {taken_text}"
            )
        raise UsageError(
            f"unknown --option {key!r} for {provider.display_name}", f"{provider.display_name} takes: {taken_text}"
        )


def _check_item(provider: Provider, item: PlayItem) -> None:
    caps = provider.capabilities
    if isinstance(item, Tts) and not caps.tts:
        raise _unsupported(provider, "has no text-to-speech", "tts", "play a recorded prompt")
    if isinstance(item, Ssml):
        if not caps.ssml:
            raise _unsupported(provider, "does not take SSML", "ssml", "use --tts with plain text")
        check_ssml(item.ssml)
    if isinstance(item, Silence) and not caps.silence:
        raise _unsupported(provider, "has no silence source", "silence", "pad the audio file with silence")
    if isinstance(item, Audio):
        if item.is_local and not caps.local_files:
            raise _unsupported(provider, f"cannot play the local file {item.uri}", "local_files", "pass an https URL")
        if item.is_s3 and not caps.s3_sources:
            raise _unsupported(provider, f"cannot play {item.uri}", "s3_sources", "pass an https URL")


def check_ssml(text: str) -> None:
    """SSML must be one well-formed XML document with a <speak> root: a provider given anything else either
    refuses it after the fact or (Polly, the talk endpoint) reads the markup aloud."""
    hint = "e.g. ssml:\"<speak>Hello <break time='1s'/> world</speak>\" or ssml:@prompt.xml"
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise UsageError(f"SSML is not well-formed XML: {exc}", hint) from None
    if root.tag.rpartition("}")[2] != "speak":
        raise UsageError(f"SSML must have a <speak> root element, not <{root.tag.rpartition('}')[2]}>", hint)
