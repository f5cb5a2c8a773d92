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
)
