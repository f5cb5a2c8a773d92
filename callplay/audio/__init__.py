"""Audio checks and conversion: what a file is (probe), what each provider accepts (rules), fix it (convert).

Import cost matters here: probe, rules, sources and report are pure Python so that `validate-audio --quick`
and `callplay --help` never load numpy or soundfile. Only stats.py and convert.py import them, lazily.
"""

from __future__ import annotations

from callplay.providers import PROVIDER_NAMES

TARGETS: tuple[str, ...] = PROVIDER_NAMES  # every provider is an audio target: its rules come from its facts

AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav",
    ".wave",
    ".mp3",
    ".aif",
    ".aiff",
    ".aifc",
    ".au",
    ".snd",
    ".gsm",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".caf",
    ".w64",
    ".rf64",
)
