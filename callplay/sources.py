"""SOURCE arguments -> play items: URL, local path, s3://bucket/key, tts:TEXT, ssml:TEXT, ssml:@FILE, silence:S."""

from __future__ import annotations

from pathlib import Path

from callplay.errors import UsageError
from callplay.model import Audio, PlayItem, Silence, Ssml, Tts

FORMS = "a URL, a local file, s3://bucket/key, tts:TEXT, ssml:TEXT, ssml:@FILE or silence:SECONDS"


def parse_source(
    text: str, *, voice: str | None = None, language: str | None = None, gender: str | None = None
) -> PlayItem:
    if text.startswith("tts:"):
        body = text[4:]
        if not body.strip():
            raise UsageError("tts: needs some text", 'e.g. tts:"Please hold"')
        return Tts(body, voice=voice, language=language, gender=gender)
    if text.startswith("ssml:"):
        return Ssml(_ssml(text[5:]))
    if text.startswith("silence:"):
        return Silence(_seconds(text[8:]))
    if text.startswith(("http://", "https://", "s3://")):
        if text.startswith("s3://") and "/" not in text[5:].strip("/"):
            raise UsageError(f"{text!r} names no object", "use s3://bucket/key")
        return Audio(text)
    if "://" in text:
        raise UsageError(f"unsupported source {text!r}", f"a SOURCE is {FORMS}")
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(f"no such file: {text}", f"a SOURCE is {FORMS}")
    return Audio(str(path.resolve()))


def _ssml(body: str) -> str:
    if body.startswith("@"):
        path = Path(body[1:]).expanduser()
        try:
            body = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read SSML file {path}: {exc}", "give a readable UTF-8 file: ssml:@FILE") from None
    if "<speak" not in body:
        raise UsageError("SSML must be a <speak> document", 'e.g. ssml:"<speak ...>Hello</speak>" or ssml:@prompt.xml')
    return body


def _seconds(text: str) -> float:
    try:
        seconds = float(text.rstrip("s"))
    except ValueError:
        raise UsageError(f"silence:{text} is not a number of seconds", "e.g. silence:1.5") from None
    if not 0 < seconds <= 3600:
        raise UsageError(f"silence:{text} is out of range", "give between 0 and 3600 seconds")
    return seconds
