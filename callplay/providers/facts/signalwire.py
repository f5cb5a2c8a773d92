"""SignalWire REST Calling API (`calling.play`): what it plays and the values it takes.

Audio: fetched from an http(s) URL; LaML `<Play>` lists MP3, WAV, AIFF, GSM and mu-law (the same list for
`calling.play` is unconfirmed) and no size limit is documented. Volume: -40..+40 dB. Ringtones and
directions: `Calling.PlayRingtoneName` and `Calling.PlayDirection` in the published OpenAPI spec.
"""

from __future__ import annotations

from callplay.providers.facts import TTS_GENDERS, VOLUME_RANGE_DB, AudioFacts, ProviderFacts

VOLUME_RANGE = VOLUME_RANGE_DB  # calling.play `volume`, in dB
DIRECTIONS = ("listen", "speak", "both")
GENDERS = TTS_GENDERS
# calling.play `loop`: "type: integer, format: int32, minimum: 0" in the OpenAPI spec.
MAX_LOOP = 2**31 - 1
# The voice log statuses (Voice.VoiceLogStatus) of a call that is over: no play can still be running on it.
CALL_ENDED = frozenset({"busy", "failed", "no-answer", "canceled", "completed", "ended"})

FACTS = ProviderFacts(
    name="signalwire",
    display_name="SignalWire",
    short_name="SignalWire",
    call_id_name="call id",
    audio=AudioFacts(
        containers=("WAV", "MP3", "AIFF", "AU", "GSM"),
        accepts="MP3, WAV, AIFF, GSM or mu-law",
        wav_codecs=frozenset({"PCM_16", "PCM_U8", "PCM_S8", "ULAW", "ALAW", "GSM610", "MPEG_LAYER_III"}),
        convert_rate=8000,
        convert_encodings=("pcm16", "ulaw"),
    ),
    volume_range_db=VOLUME_RANGE,
    ssml=False,
    directions=DIRECTIONS,
    options=("ringtone",),  # ringtone=NAME[:SECONDS], a `ringtone` play item
    max_loop=MAX_LOOP,
    # SignalWire "Rate limits" (signalwire.com/docs/platform/rate-limits, section API): "POST PUT PATCH 13800
    # requests per 10 seconds", across the Space; every calling.play/stop/pause/volume is a POST to
    # /api/calling/calls. (The 1 call per second there is for creating calls, which callplay never does.)
    request_rate=1380.0,
    request_rate_source="SignalWire rate limits: POST 13800 requests per 10 s per Space",
)

# fmt: off
RINGTONES = frozenset([
    "au", "be", "ca", "cn", "cy", "cz", "de", "dk", "dz", "eg", "es", "fi", "fr", "hu", "il", "in", "jp",
    "ko", "pk", "pl", "ro", "rs", "ru", "sa", "tr", "uk", "us", "at", "bg", "br", "ch", "cl", "ee", "gr",
    "it", "lt", "mx", "my", "nl", "no", "nz", "ph", "pt", "se", "sg", "th", "za", "tw", "ve", "bong",
])
# fmt: on
