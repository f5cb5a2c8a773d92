"""Azure Communication Services Call Automation: what it plays.

WAV 16-bit PCM mono 16 kHz, or MP3 with an ID3v2 tag; other WAVs play nothing (PlayFailed 8535). No size or
duration limit is documented. No playback volume, no play direction, no `--option` extras; `loop` is a
boolean (until stopped), so there is no count to bound.
"""

from __future__ import annotations

from callplay.providers.facts import AudioFacts, ProviderFacts

FACTS = ProviderFacts(
    name="acs",
    display_name="Azure Communication Services",
    short_name="ACS",
    call_id_name="call connection id",
    audio=AudioFacts(
        containers=("WAV", "MP3"),
        accepts="WAV (16-bit PCM mono 16 kHz) or MP3 with an ID3v2 tag",
        wav_rates=(16000,),
        mp3_needs_id3v2=True,
        convert_rate=16000,
    ),
    volume_range_db=None,
    ssml=True,
    cache_id=True,  # playSourceCacheId on each play source
    # "Service limits for Azure Communication Services" (learn.microsoft.com/azure/communication-services/
    # concepts/service-limits) gives rates for identity, SMS, email, chat, Job Router and network traversal, and
    # answers 429 when one is passed, but names no rate for Call Automation (play, cancel, get call). 10/s is
    # callplay's cautious choice, with no figure to go by; a 429 and its Retry-After are honoured either way.
    request_rate=10.0,
    request_rate_source="not documented for Call Automation: callplay's cautious default",
)
