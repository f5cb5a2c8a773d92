"""Provider facts: what each provider accepts and where its limits are, one module per provider.

Each `callplay.providers.facts.<name>` module holds one provider's limits and formats (`FACTS`, plus any
provider-specific tables such as SignalWire's ringtones). The provider backend, the audio rules
(`validate-audio`), `convert` and the CLI import them from there and nowhere else, so a limit cannot drift
between the check that warns and the play that refuses. The emulator keeps its own copies on purpose (a fake
must not share code with what it checks); tests/test_facts.py holds the two to the same values.

Pure Python with no imports beyond the standard library: `validate-audio --quick` imports these.
"""

from __future__ import annotations

from dataclasses import dataclass

# callplay's command-line volume scale, in dB, on every provider (`--volume`, `callplay volume`): SignalWire's
# own range, which the other providers map onto theirs (Vonage: level -1..1) or refuse.
VOLUME_RANGE_DB: tuple[float, float] = (-40.0, 40.0)
VOLUME_RANGE_TEXT = f"{VOLUME_RANGE_DB[0]:g}..{VOLUME_RANGE_DB[1]:+g}"  # "-40..+40", for help and hints
# The TTS settings `--voice`, `--language` and `--gender` set (they reach the provider as extras under these
# keys, and `--option KEY=VALUE` may set them too): every provider with TTS reads or refuses them itself.
TTS_OPTION_KEYS: tuple[str, ...] = ("voice", "language", "gender")
# `--gender` on every provider that lets one choose: ACS `voiceKind`, SignalWire `gender`.
TTS_GENDERS: tuple[str, ...] = ("female", "male")
# A profile's callback_url: an absolute http(s) URL with a host, the only kind any provider posts events to
# (a pydantic `pattern`, so a profile with ftp://... is a configuration error, exit 3, before anything is sent).
CALLBACK_URL_PATTERN = r"(?i)^https?://[^\s/?#@]+(@[^\s/?#]+)?([/?#]\S*)?$"
# How fast a provider's TTS speaks at its default rate, roughly: about 150 words a minute, some 15 characters a
# second in English. An estimate (no provider publishes one): callplay uses it for how long speech plays.
SPEECH_CHARS_PER_S = 15.0


@dataclass(frozen=True)
class AudioFacts:
    """The audio a provider plays: the rules of `validate-audio --target NAME` and the output of `convert`."""

    containers: tuple[str, ...]  # containers it plays, as the probe names them (WAV, MP3, AIFF, AU, GSM)
    accepts: str  # the same, for a person: "MP3 or 16-bit mono WAV at 8 or 16 kHz"
    wav_codecs: frozenset[str] | None = None  # None: PCM only, held to the layout below; else these, any layout
    wav_rates: tuple[int, ...] = ()  # PCM WAV rates it takes (or recommends); () when any rate plays
    layout_is_advice: bool = False  # bit depth, rate and channels are recommendations (warnings), not refusals
    mp3_needs_id3v2: bool = False
    max_bytes: int | None = None  # the platform's file size limit, where it has one
    s3_content_types: tuple[str, ...] = ()  # what an S3 object's ContentType must be, for providers that read S3
    convert_rate: int = 16000  # what `callplay convert --target NAME` writes
    convert_encodings: tuple[str, ...] = ("pcm16",)


@dataclass(frozen=True)
class ProviderFacts:
    name: str  # `provider = "NAME"` in a profile; also the audio target and the emulator face
    display_name: str  # in messages: "Amazon Chime SDK cannot pause a playback"
    short_name: str  # in audio findings, where space is short: "Chime recommends 8 kHz"
    call_id_name: str  # what CALL is on this provider, for help: "call connection id"
    audio: AudioFacts
    volume_range_db: tuple[float, float] | None = None  # None: no playback volume at all
    ssml: bool = False  # takes SSML as a play item (checked as a <speak> XML document before it is sent)
    directions: tuple[str, ...] = ()  # what `--direction` takes; (): no play direction at all (exit 4)
    options: tuple[str, ...] = ()  # `--option KEY`s it takes besides TTS_OPTION_KEYS; others are refused
    max_loop: int | None = None  # the largest play count its API takes; None: no documented maximum
    cache_id: bool = False  # takes `--cache-id` (a play source cache)
    # Requests per second a run over many calls sends by default (`--rate`): the provider's documented limit for
    # the requests callplay sends (play, stop, ...), or callplay's cautious choice where none is documented.
    # Every provider sets both; `request_rate_source` says where the figure comes from (docs, --help).
    request_rate: float = 1.0
    request_rate_source: str = ""
