"""What `play` and `loop` were asked for, turned into a PlayRequest.

The SOURCE words (URL, local path, s3://bucket/key, tts:TEXT, ssml:TEXT, ssml:@FILE, silence:S) become play
items, `--option KEY=VALUE` becomes the provider extras, and both commands hand over one PlayOptions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callplay.errors import UsageError
from callplay.model import Audio, PlayItem, PlayRequest, Silence, Ssml, Tts
from callplay.providers.facts import TTS_GENDERS
from callplay.values import (
    MAX_COUNT,
    STDIN,
    check_call_id,
    check_http_url,
    check_listen,
    check_seconds,
    check_text,
    check_word,
    expand_path,
)

if TYPE_CHECKING:
    from callplay.core.play import WaitOptions

FORMS = "a URL, a local file, s3://bucket/key, tts:TEXT, tts:@FILE, ssml:TEXT, ssml:@FILE or silence:SECONDS"


@dataclass(frozen=True)
class PlayOptions:
    """The parameters of `play` and `loop` as parsed, under the commands' own parameter names (the CLI passes
    them on by name, so an option added to a command but not here fails at once)."""

    call: str
    loop: int  # plays in total; 0 = until stopped (play: 1; loop: --times)
    sources: list[str] | None = None
    tts: str | None = None
    ssml: str | None = None
    voice: str | None = None
    language: str | None = None
    gender: str | None = None
    to: list[str] | None = None
    volume: float | None = None
    direction: str | None = None
    cache_id: str | None = None
    interrupt: bool = False
    wait: bool = False
    timeout: float | None = None
    dry_run: bool = False
    callback_url: str | None = None
    listen: str | None = None
    option: list[str] | None = None
    profile: str | None = None


def build_request(opts: PlayOptions) -> tuple[PlayRequest, WaitOptions]:
    """The PlayRequest and the --wait options for the core; a UsageError for a SOURCE or option it cannot use."""
    from callplay.core.play import WaitOptions

    _check_values(opts)
    texts = list(opts.sources or [])
    from_stdin = [t for t in (opts.tts, opts.ssml) if t == STDIN] + [t for t in texts if t in ("tts:-", "ssml:-")]
    if len(from_stdin) > 1:
        raise UsageError("standard input can be read only once", "give only one of --tts - and --ssml -")
    if opts.tts is not None:
        texts.append(f"tts:{opts.tts}")
    if opts.ssml is not None:
        texts.append(f"ssml:{opts.ssml}")
    gender = opts.gender.lower() if opts.gender else opts.gender
    items = [parse_source(t, voice=opts.voice, language=opts.language, gender=gender) for t in texts]
    extras = parse_options(opts.option)
    extras.update({k: v for k, v in (("voice", opts.voice), ("language", opts.language), ("gender", gender)) if v})
    if extras.get("gender") is not None and str(extras["gender"]).lower() not in TTS_GENDERS:
        raise UsageError(f"unknown TTS gender {extras['gender']!r}", f"use --gender {' or '.join(TTS_GENDERS)}")
    request = PlayRequest(
        items=items,
        loop=opts.loop,
        targets=list(opts.to or []),
        volume_db=opts.volume,
        cache_id=opts.cache_id,
        interrupt=opts.interrupt,
        callback_url=opts.callback_url,
        direction=opts.direction,
        options=extras,
    )
    return request, WaitOptions(wait=opts.wait, timeout=opts.timeout, listen=opts.listen)


def _check_values(opts: PlayOptions) -> None:
    """Every value in range and every word printable before a profile is read or anything is sent."""
    check_call_id(opts.call)
    # SQLite INTEGER (the ledger's loop column) is 64-bit; each provider's own maximum is checked by the core.
    if not 0 <= opts.loop <= MAX_COUNT:
        raise UsageError(
            f"--times {opts.loop} is out of range",
            "give a number of plays from 1 up, or 0 (the default) to loop until stopped",
        )
    if opts.timeout is not None:
        check_seconds(opts.timeout, "--timeout")
    for text in [*(opts.sources or []), opts.tts, opts.ssml]:
        if text is not None:
            check_text(text, "SOURCE", control=True)  # TTS and SSML may span lines
    for what, word in (
        ("--voice", opts.voice),
        ("--language", opts.language),
        ("--gender", opts.gender),
        ("--direction", opts.direction),
        ("--cache-id", opts.cache_id),
        *(("--to", to) for to in opts.to or []),
    ):
        if word is not None:
            check_word(word, what)
    for pair in opts.option or []:
        check_text(pair, "--option")
    if opts.profile is not None:
        check_text(opts.profile, "--profile")  # an unknown name is the config's to report (exit 3)
    if opts.callback_url is not None:
        check_http_url(opts.callback_url, "--callback-url")
    if opts.listen is not None:
        check_listen(opts.listen)


def parse_options(pairs: list[str] | None) -> dict[str, str]:
    """`--option KEY=VALUE`, repeated: the provider extras (an empty VALUE is kept)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--option {pair!r} is not KEY=VALUE", "e.g. --option style=2")
        out[key.strip()] = value
    return out


def parse_source(
    text: str, *, voice: str | None = None, language: str | None = None, gender: str | None = None
) -> PlayItem:
    if text.startswith("tts:"):
        body = _text(text[4:], "TTS", "tts:@FILE or --tts @FILE")
        if text[4:] == STDIN or (text[4:].startswith("@") and not text[4:].startswith("@@")):
            body = body.strip()  # the file's or the pipe's final newline is not spoken
        check_text(body, "the TTS text", control=True)
        if not body.strip():
            raise UsageError("tts: needs some text", 'e.g. --tts "Please hold", --tts @prompt.txt or --tts -')
        return Tts(body, voice=voice, language=language, gender=gender)
    if text.startswith("ssml:"):
        return Ssml(_ssml(text[5:]))
    if text.startswith("silence:"):
        return Silence(_seconds(text[8:]))
    if text.startswith(("http://", "https://", "s3://")):
        if text.startswith("s3://") and "/" not in text[5:].strip("/"):
            raise UsageError(f"{text!r} names no object", "use s3://bucket/key")
        if not text.startswith("s3://"):
            check_http_url(text, "SOURCE")  # a host, no blanks: what a provider can fetch
        return Audio(text)
    if "://" in text:
        raise UsageError(f"unsupported source {text!r}", f"a SOURCE is {FORMS}")
    path = expand_path(text, "SOURCE")
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file"  # a directory, a FIFO, a device
        raise UsageError(f"{what}: {text}", f"a SOURCE is {FORMS}")
    return Audio(str(path.resolve()))


def _ssml(body: str) -> str:
    """The SSML text, read from FILE for ssml:@FILE or from stdin for `-`; whether it is a <speak> document is
    checked by the core for the providers that take SSML (callplay.core.checks.check_ssml)."""
    body = _text(body, "SSML", "ssml:@FILE or --ssml @FILE")
    check_text(body, "the SSML text", control=True)
    if not body.strip():
        raise UsageError("ssml: needs a <speak> document", 'e.g. ssml:"<speak>Hello</speak>" or ssml:@prompt.xml')
    return body


def _text(body: str, what: str, form: str) -> str:
    """The text of a tts: or ssml: SOURCE: `-` is standard input, `@FILE` the file's (UTF-8), `@@...` a literal
    `@...`, anything else itself."""
    if body == STDIN:
        return _stdin(what)
    if body.startswith("@@"):
        return body[1:]
    if not body.startswith("@"):
        return body
    hint = f"give a readable UTF-8 file: {form}"
    if not body[1:]:
        raise UsageError(f"{what} @ names no file", f"{hint} (@@ for a text that starts with @)")
    path = expand_path(body[1:], f"the {what} file")
    if path.exists() and not path.is_file():  # reading a FIFO would block; a directory is no document
        raise UsageError(f"{what} file {path} is not a regular file", hint)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {what} file {path}: {reason}", hint) from None


def _stdin(what: str) -> str:
    import sys

    hint = f"pipe the {what} text in, e.g. echo 'Please hold' | callplay play CALL --{what.lower()} -"
    if sys.stdin is None or sys.stdin.closed:
        raise UsageError(f"no standard input to read the {what} text from", hint)
    try:
        return sys.stdin.read()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read the {what} text from standard input: {exc}", hint) from None


def _seconds(text: str) -> float:
    try:
        seconds = float(text.rstrip("s"))
    except ValueError:
        raise UsageError(f"silence:{text} is not a number of seconds", "e.g. silence:1.5") from None
    if not 0 < seconds <= 3600:  # also refuses nan, which compares false with everything
        raise UsageError(f"silence:{text} is out of range", "give between 0 and 3600 seconds")
    return seconds


def names_source(word: str) -> bool:
    """Whether `word` names something to play rather than a call: an existing file, an audio file's name, a URL,
    or a form parse_source takes (tts:, ssml:, silence:, ...)."""
    from callplay.audio import AUDIO_EXTENSIONS

    path = os.path.expanduser(word)
    if (os.path.exists(path) and not os.path.isdir(path)) or word.lower().endswith(AUDIO_EXTENSIONS):
        return True  # a file (a FIFO too: <(...)), or meant as one; a directory is no SOURCE, may be a call's name
    scheme, colon, _ = word.partition(":")
    if not colon:
        return False
    try:
        # The scheme with a body every form takes: parse_source says whether it is one of its forms, and reads
        # nothing (no file, no stdin) to say so. Anything else it takes for a file's name, which it is not.
        parse_source(f"{scheme}:1")
    except UsageError:
        return "://" in word  # a URL, or an unsupported scheme (reported as a SOURCE, not looked up as a call)
    return True
