"""Amazon Chime SDK PSTN audio: what a SIP media application plays and the limits of its actions.

Audio: uncompressed PCM WAV from S3 (ContentType audio/wav), "no more than 50 MB"; 8 kHz mono is recommended,
so other rates and channel counts are warnings. The size limit is read as decimal megabytes, 50,000,000
bytes: it is the stricter reading (50 MiB would be 52,428,800), so a file callplay passes is never one Chime
refuses. No playback volume.
"""

from __future__ import annotations

from callplay.providers.facts import SPEECH_CHARS_PER_S, AudioFacts, ProviderFacts

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
    # engine=standard|neural (Polly), leg=LEG-A|LEG-B (as --to), text_type=text|ssml: Speak's arguments.
    options=("engine", "leg", "text_type"),
    max_loop=None,  # PlayAudio's Repeat has no documented maximum: the profile's repeat_max bounds it
    # AWS General Reference, "Amazon Chime SDK endpoints and quotas" (docs.aws.amazon.com/general/latest/gr/
    # chime-sdk.html): "UpdateSipMediaApplicationCall API rate limit: 5 (adjustable): the maximum number of
    # requests ... per second allowed in the current AWS Region"; every play and stop is one such request.
    request_rate=5.0,
    request_rate_source="AWS quota: UpdateSipMediaApplicationCall 5 requests/s per Region (adjustable)",
)

MAX_ACTIONS = 10  # actions per Lambda response
MAX_ARGUMENTS = 20  # entries in UpdateSipMediaApplicationCall's Arguments
MAX_SPEAK_CHARS = 1000  # Speak's Text limit
# PlayAudio's Repeat has no documented maximum: 100 is callplay's conservative default (repeat_max).
DEFAULT_REPEAT_MAX = 100
LEGS = ("LEG-A", "LEG-B")

# What stops a running action. callplay stops a playback with an UpdateSipMediaApplicationCall whose Lambda
# answers a new action list; the Amazon Chime SDK Developer Guide, "Updating in-progress calls"
# (https://docs.aws.amazon.com/chime-sdk/latest/dg/update-sip-call.html), section "Understanding interruptible
# and non-interruptable actions": "all actions that follow the in-progress action are replaced with the new
# actions ... If Action 2 is interruptible, we stop it and execute new Action 1 instead. If Action 2 is not
# interruptible, it completes before the new Action 1 starts ... If something interrupts an action, the Lambda
# function is invoked with an ACTION_INTERRUPTED event ... Types of interruptible actions: PlayAudio,
# RecordAudio, Pause". "Responding to invocations with action lists" (invoke-on-call-leg.html) says the same:
# "The application finishes running the current action on a call", then replaces the old action set.
# So a Speak (callplay's tts: and ssml: items) cannot be cut short: a stop replaces what follows it, and the
# Speak plays to its end. A Hangup action is no way out: it is a new action too, so it waits for the Speak,
# and it ends the call leg rather than the playback.
INTERRUPTIBLE_ACTIONS = frozenset({"PlayAudio", "RecordAudio", "Pause"})
# How fast Polly speaks, for saying how long an uninterruptible Speak may go on: the typical TTS rate (the
# likeliest length, not a bound). An estimate (callplay cannot ask Chime), the same as the emulator's
# simulation of Speak so that what callplay says can be checked against it.
SPEAK_CHARS_PER_S = SPEECH_CHARS_PER_S
