"""Vonage Voice API: what it plays and the values it takes.

Audio: "mp3 or wav (16-bit)"; the SDK documentation names mono 16-bit WAV at 8 or 16 kHz, or MP3. No size
limit is documented. Volume: the stream/talk `level` runs from -1 to 1 in steps of 0.1 and is set only when a
playback starts; callplay maps its -40..+40 dB linearly onto it, so one step is 4 dB and 0 dB is level 0.
"""

from __future__ import annotations

from callplay.providers.facts import VOLUME_RANGE_DB, AudioFacts, ProviderFacts

FACTS = ProviderFacts(
    name="vonage",
    display_name="Vonage Voice API",
    short_name="Vonage",
    call_id_name="call uuid",
    audio=AudioFacts(
        containers=("WAV", "MP3"),
        accepts="MP3 or 16-bit mono WAV at 8 or 16 kHz",
        wav_rates=(8000, 16000),
        convert_rate=16000,
    ),
    volume_range_db=VOLUME_RANGE_DB,
    ssml=True,
    options=("style", "premium"),  # the talk endpoint's style (a number) and premium (a boolean)
    # stream/talk `loop`: "minimum 0" and no documented maximum (the SDK's models: Field(ge=0)).
    max_loop=None,
    # Vonage Voice API "Troubleshooting", section Capacity (developer.vonage.com/voice/voice-api/guides/
    # troubleshooting): "Maximum of 15 requests per second to the REST API (excluding create calls)", else 429.
    # callplay's PUT/DELETE .../stream and .../talk are such requests; the 3 calls/s limit is for creating calls.
    request_rate=15.0,
    request_rate_source="Vonage Voice API capacity: 15 requests/s to the REST API",
)

LEVEL_STEP = 0.1  # Vonage takes `level` in steps of 0.1
DB_PER_LEVEL_STEP = 4.0  # one level step in dB: VOLUME_RANGE_DB (-40..+40) onto level -1..1
# The call statuses (voice.yml `status`, the call-flow guide's list) of a call that is over: nothing plays on it.
CALL_ENDED = frozenset(
    {"completed", "busy", "cancelled", "unanswered", "rejected", "failed", "timeout", "disconnected"}
)
# The talk endpoint's `language` enum (voice.yml v1.3.7, the same as the SDK's TtsLanguageCode).
# fmt: off
LANGUAGES = frozenset((
    "ar", "ca-ES", "cmn-CN", "cmn-TW", "cs-CZ", "cy-GB", "da-DK", "de-DE", "el-GR", "en-AU", "en-GB",
    "en-GB-WLS", "en-IN", "en-US", "en-ZA", "es-ES", "es-MX", "es-US", "eu-ES", "fi-FI", "fil-PH", "fr-CA",
    "fr-FR", "he-IL", "hi-IN", "hu-HU", "id-ID", "is-IS", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL", "no-NO",
    "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sk-SK", "sv-SE", "th-TH", "tr-TR", "uk-UA", "vi-VN", "yue-CN"
))
# fmt: on
