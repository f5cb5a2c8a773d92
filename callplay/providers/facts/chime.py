"""Amazon Chime SDK PSTN audio: what a SIP media application plays and the limits of its actions.

Audio: uncompressed PCM WAV from S3 (ContentType audio/wav), "no more than 50 MB"; 8 kHz mono is recommended,
so other rates and channel counts are warnings. The size limit is read as decimal megabytes, 50,000,000
bytes: it is the stricter reading (50 MiB would be 52,428,800), so a file callplay passes is never one Chime
refuses. No playback volume.
"""

from __future__ import annotations

from callplay.providers.facts import AudioFacts, ProviderFacts

MAX_WAV_BYTES = 50_000_000
RECOMMENDED_RATE = 8000
WAV_CONTENT_TYPE = "audio/wav"

FACTS = ProviderFacts(
    name="chime",
    display_name="Amazon Chime SDK",
    short_name="Chime",
    call_id_name="transaction id",
    audio=AudioFacts(
        containers=("WAV",),
        accepts="uncompressed PCM WAV",
        wav_rates=(RECOMMENDED_RATE,),
        layout_is_advice=True,
        max_bytes=MAX_WAV_BYTES,
        s3_content_types=(WAV_CONTENT_TYPE,),
        convert_rate=RECOMMENDED_RATE,
    ),
    volume_range_db=None,
    ssml=True,
)

MAX_ACTIONS = 10  # actions per Lambda response
MAX_ARGUMENTS = 20  # entries in UpdateSipMediaApplicationCall's Arguments
MAX_SPEAK_CHARS = 1000  # Speak's Text limit
# PlayAudio's Repeat has no documented maximum: 100 is callplay's conservative default (repeat_max).
DEFAULT_REPEAT_MAX = 100
LEGS = ("LEG-A", "LEG-B")
