"""Checks of plain input values at the edge: call IDs and other words, ports, counts, seconds, URLs, paths.

Every command checks what it was given here before it resolves a profile or sends anything, so a value no
provider could take is a usage error (exit 2) with a hint, never a provider's refusal after the fact or an
"unexpected error". Standard library only: the emulator's `serve` and the CLI import it, and it must import
nothing from callplay.providers (the emulator shares no code with what it checks).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr
from urllib.parse import urlsplit

from callplay.errors import CallplayError, UsageError

# The ledger keeps counts (loop, --limit) in SQLite INTEGER columns: signed 64-bit. A larger Python int
# overflows at the write, after the provider has already been asked to play.
MAX_COUNT = 2**63 - 1
PORT_RANGE = (0, 65535)
# The longest wait callplay takes (--timeout): 30 days. Past threading.TIMEOUT_MAX a wait raises OverflowError,
# and no playback or listener is meant to outlast a month.
MAX_SECONDS = 30 * 86400.0


def _shown(value: str) -> str:
    """The value quoted for a message, with control characters and undecodable bytes escaped."""
    return repr(value)


def check_text(value: str, what: str, *, control: bool = False) -> str:
    """`value` unless it holds bytes that are not UTF-8 (argv arrives surrogate-escaped) or, unless `control`
    allows them (newlines in TTS text), control characters: neither can be sent in a JSON body or a URL."""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise UsageError(f"{what} {_shown(value)} is not valid UTF-8", f"give {what} as UTF-8 text")
    if not control and any(unicodedata.category(ch) == "Cc" for ch in value):
        raise UsageError(
            f"{what} {_shown(value)} contains control characters",
            f"give {what} as printable text (no tabs or newlines)",
        )
    return value


def check_word(value: str, what: str) -> str:
    """A non-empty, printable identifier (a call ID, a control ID, a participant): no blanks at either end."""
    check_text(value, what)
    if not value.strip():
        raise UsageError(f"{what} is empty", f"give {what}, e.g. the id the provider gave you")
    if value != value.strip():
        raise UsageError(f"{what} {_shown(value)} has spaces at one end", f"give {what} without surrounding spaces")
    return value


def check_call_id(value: str) -> str:
    return check_word(value, "the call ID")


def check_port(value: int, option: str) -> int:
    lo, hi = PORT_RANGE
    if not lo <= value <= hi:
        raise UsageError(f"{option} {value} is not a port", f"give a port from {lo} to {hi} (0 picks a free one)")
    return value


def check_count(value: int, option: str, *, minimum: int = 0, maximum: int = MAX_COUNT, hint: str = "") -> int:
    if not minimum <= value <= maximum:
        # MAX_COUNT is what the ledger can store, not a figure anyone means: say "or more" instead of 19 digits.
        bound = f"of {minimum} or more" if maximum == MAX_COUNT else f"from {minimum} to {maximum}"
        raise UsageError(f"{option} {value} is out of range", hint or f"give a whole number {bound}")
    return value


def check_seconds(value: float, option: str, *, maximum: float = MAX_SECONDS) -> float:
    """A duration: finite and more than 0 (a nan would never expire; a negative one has always expired)."""
    if not (math.isfinite(value) and 0 < value <= maximum):
        raise UsageError(
            f"{option} {value:g} is not a number of seconds", f"give more than 0 and at most {maximum:g} seconds"
        )
    return value


# `--since 30m`: a number (decimals allowed) and a unit; a bare number is seconds.
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# The furthest back a duration reaches: a century (past it, datetime arithmetic overflows long before SQLite).
MAX_DURATION_SECONDS = 36500 * 86400.0


def parse_duration(text: str, option: str) -> float:
    """`30m`, `2h`, `1d`, `1.5h`, `90s` or `90` as seconds: more than 0 and at most a century."""
    check_text(text, option)
    word = text.strip().lower()
    number, unit = (word[:-1], word[-1]) if word[-1:] in DURATION_UNITS else (word, "s")
    hint = "give a number and a unit (s, m, h, d), e.g. 30m, 2h or 1d"
    try:
        value = float(number) * DURATION_UNITS[unit]
    except ValueError:
        raise UsageError(f"{option} {_shown(text)} is not a duration", hint) from None
    if not (math.isfinite(value) and 0 < value <= MAX_DURATION_SECONDS):
        raise UsageError(f"{option} {_shown(text)} is not a duration", f"{hint}; more than 0, at most 36500d")
    return value


def check_number(value: float, option: str, lo: float, hi: float, unit: str = "") -> float:
    if not (math.isfinite(value) and lo <= value <= hi):
        raise UsageError(f"{option} {value:g}{unit} is out of range", f"give a value from {lo:g} to {hi:g}{unit}")
    return value


def http_url_problem(value: str) -> str | None:
    """Why `value` is not an absolute http(s) URL with a host and a valid port, or None when it is one."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return "its port is not a number from 0 to 65535"
    if any(ch.isspace() for ch in value):  # urlsplit keeps " example.com" as a host
        return "it contains blanks"
    if parts.scheme.lower() not in ("http", "https"):
        return "it is not http:// or https://"
    if not parts.hostname:
        return "it names no host"
    return None


def check_http_url(value: str, option: str) -> str:
    """An absolute http(s) URL with a host: what a provider can fetch from or post events to."""
    check_text(value, option)
    problem = http_url_problem(value)
    if problem:
        raise UsageError(
            f"{option} {_shown(value)} is not an http(s) URL: {problem}", "e.g. https://ops.example.com/events"
        )
    return value


def port_problem(host_port: str) -> str | None:
    """Why the port of `host[:port]` is not 1-65535, or None (no port, or a valid one)."""
    host, sep, port = host_port.rpartition(":")
    if not sep or host.endswith(":") or (host.startswith("[") and not host.endswith("]")):
        return None  # no port (an IPv6 address without brackets has colons of its own)
    if not (port.isascii() and port.isdigit() and 0 < int(port) <= PORT_RANGE[1]):
        return f"port {port!r} is not a number from 1 to {PORT_RANGE[1]}"
    return None


def file_problem(value: str) -> str | None:
    """Why `value` is not a readable regular file (after ~ expansion), or None."""
    try:
        path = Path(value).expanduser()
    except RuntimeError:
        return f"cannot expand {value.split('/', 1)[0]}: no such user or home directory"
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_file():
        return f"{path} is not a regular file"
    return None


def check_listen(value: str, option: str = "--listen") -> tuple[str, int]:
    """HOST:PORT (or :PORT) for a local receiver."""
    check_text(value, option)
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isascii() or not port_text.isdigit():
        raise UsageError(f"{option} {_shown(value)} is not HOST:PORT", "e.g. --listen 0.0.0.0:8080")
    return host, check_port(int(port_text), f"{option} port")


def expand_path(text: str, what: str, error: type[CallplayError] = UsageError) -> Path:
    """`~` and `~user` expanded; an unknown user (or no home directory) is `error` naming the path."""
    check_text(text, what)
    try:
        return Path(text).expanduser()
    except RuntimeError:
        user = text[1:].split("/", 1)[0]
        raise error(
            f"cannot expand {what} {text}: {'no user ' + user if user else 'no home directory'}",
            "give the path without ~, or a user that exists",
        ) from None


# ------------------------------------------------------------------------------------------ lists of calls

# `--calls-from FILE`: at most this much is read (16 MiB, some 400,000 call IDs), so that a device that never
# ends (/dev/zero, a pipe left open) is an error rather than a hang or all of memory.
MAX_CALLS_BYTES = 16 * 2**20
STDIN = "-"  # the name of standard input: --calls-from -, --tts -, --ssml -, tts:-
_COMMENT = re.compile(r"(^|\s)#.*$")  # `# ...` to the end of the line, at its start or after a blank


@dataclass(frozen=True)
class CallList:
    """The calls a command was given, each once, in the order first given; `warnings` name what was dropped."""

    ids: list[str]
    warnings: list[str]


def call_list(call: str | None = None, calls: Sequence[str] = (), calls_from: str | None = None) -> CallList:
    """The positional CALL, then each `--call ID`, then the lines of `--calls-from FILE` (`-`: standard input),
    each checked as a call ID. A line's blanks at either end and any `# comment` are dropped, and blank lines
    skipped. A call given twice gets one request (a warning says so); no call at all is a usage error."""
    given: list[str] = []
    if call is not None:
        given.append(check_call_id(call))
    given.extend(check_call_id(c) for c in calls)
    if calls_from is not None:
        given.extend(_calls_in(calls_from))
    ids = list(dict.fromkeys(given))
    if not ids:
        if calls_from is not None:
            raise UsageError(f"--calls-from {calls_from} lists no calls", "give one call ID per line (# for comments)")
        raise UsageError("no call given", "give CALL, --call ID (repeatable) or --calls-from FILE")
    return CallList(ids, _duplicates_warning(given, ids))


def _duplicates_warning(given: list[str], ids: list[str]) -> list[str]:
    if len(given) == len(ids):
        return []
    twice = [c for c, n in Counter(given).items() if n > 1]
    shown = ", ".join(twice[:3]) + (f" and {len(twice) - 3} more" if len(twice) > 3 else "")
    return [f"{len(given) - len(ids)} duplicate call IDs ignored, each call gets one request: {shown}"]


def _calls_in(name: str) -> list[str]:
    """The call IDs listed in `name`, with the line number of the first bad one in the error."""
    check_text(name, "--calls-from")
    data = _read_stdin() if name == STDIN else _read_file(name)
    raw_lines: list[bytes | str] = [*(data.split(b"\n") if isinstance(data, bytes) else data.split("\n"))]
    out: list[str] = []
    for number, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            raise UsageError(f"--calls-from {name} line {number} is not UTF-8", _LIST_HINT) from None
        text = _COMMENT.sub("", line).strip()
        if not text:
            continue
        try:
            out.append(check_call_id(text))
        except UsageError as err:
            raise UsageError(f"--calls-from {name} line {number}: {err.message}", _LIST_HINT) from None
    return out


_LIST_HINT = "give one call ID per line, as UTF-8 text (# starts a comment)"


def _read_file(name: str) -> bytes:
    path = expand_path(name, "--calls-from")
    if path.is_dir():
        raise UsageError(f"--calls-from {path} is a directory", "give a file with one call ID per line")
    try:
        # Not only regular files: `--calls-from <(grep ...)` is a pipe, and reads as one.
        with open(path, "rb") as stream:
            return _bounded(stream.read(MAX_CALLS_BYTES + 1), str(path))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot read --calls-from {path}: {reason}", "give a readable file, or - for stdin") from None


def _read_stdin() -> bytes | str:
    import sys

    hint = "pipe the calls in, e.g. cut -f1 bridges.tsv | callplay stop --calls-from -"
    stream = sys.stdin
    if stream is None or stream.closed:
        raise UsageError("no standard input to read --calls-from - from", hint)
    try:
        binary = getattr(stream, "buffer", None)
        if binary is not None:  # bytes, so that a line that is not UTF-8 is named by its number
            data: bytes = binary.read(MAX_CALLS_BYTES + 1)
            return _bounded(data, "standard input")
        text: str = stream.read(MAX_CALLS_BYTES + 1)
        return _bounded(text, "standard input")
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read --calls-from - (standard input): {exc}", hint) from None


def _bounded(data: AnyStr, what: str) -> AnyStr:
    if len(data) > MAX_CALLS_BYTES:
        raise UsageError(
            f"--calls-from {what} is longer than {MAX_CALLS_BYTES // 2**20} MiB",
            "split the list, or check that it names a file of call IDs",
        )
    return data
