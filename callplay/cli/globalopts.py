"""Global options anywhere on the line (issue 12): `-p/--profile`, `-o/--output` and `--debug` mean the same
before the command as after it, so `callplay -p demo -o json play c1 --tts hi` is
`callplay play c1 --tts hi -p demo -o json`.

Click only knows options where they are declared (on each command), so main() rewrites the arguments first:
the global options that come before the first command word move to just after the full command path
(`events list`, `chime lambda-package`), where the command declares them; `--debug` (anywhere before `--`)
is taken out and sets CALLPLAY_DEBUG=1 for the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from callplay.errors import UsageError

VALUED = {"-p": "--profile", "--profile": "--profile", "-o": "--output", "--output": "--output"}
PARAM_OF = {"--profile": "profile", "--output": "output"}
DEBUG = "--debug"
HELP_WORDS = ("-h", "--help", "--version")


@dataclass
class Leading:
    """The global options found before the command (as `--profile NAME` pairs), and everything after them."""

    moved: list[str] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    debug: bool = False


def take_leading(args: Sequence[str]) -> Leading:
    """Split off the global options before the first command word; a UsageError for one without its value."""
    found = Leading()
    i = 0
    while i < len(args):
        word = args[i]
        if word == DEBUG:
            found.debug = True
            i += 1
            continue
        if word in VALUED:
            value = args[i + 1] if i + 1 < len(args) else None
            if value is None or (value.startswith("-") and value != "-"):
                raise _missing(word)
            found.moved += [VALUED[word], value]
            i += 2
            continue
        name, sep, value = word.partition("=")
        if sep and name in ("--profile", "--output"):
            if not value:
                raise _missing(name)
            found.moved += [name, value]
            i += 1
            continue
        if word[:2] in ("-p", "-o") and len(word) > 2 and not word.startswith("--"):
            found.moved += [VALUED[word[:2]], word[2:]]  # -pNAME, -ojson
            i += 1
            continue
        break
    found.rest = list(args[i:])
    return found


def rewrite(args: Sequence[str], leading: Leading, root: Any) -> tuple[list[str], bool]:
    """The arguments click is given (the moved options after the command path, `--debug` taken out), and
    whether `--debug` was given."""
    rest = leading.rest
    command, depth = _leaf(root, rest)
    body = _without_debug(rest, command, depth)
    debug = leading.debug or len(body) != len(rest)
    before_dashes = rest[: rest.index("--")] if "--" in rest else rest
    asks_help = any(word in HELP_WORDS for word in before_dashes)
    if leading.moved:
        if depth == 0:
            if asks_help:
                return body, debug  # `callplay -o json --help`: the options do not matter
            if not rest:
                example = " ".join(leading.moved)
                raise UsageError(
                    "missing command", f"give a command after the options, e.g. callplay {example} status CALL"
                )
            return body, debug  # no such command: click tells what is wrong with the rest
        accepted = {param.name for param in command.params}
        if not all(PARAM_OF[word] in accepted for word in leading.moved[::2]):
            if asks_help:
                return body, debug
            # click reports the option this command lacks
            return [w for w in args[: len(args) - len(rest)] if w != DEBUG] + body, debug
    return [*body[:depth], *leading.moved, *body[depth:]], debug


def _leaf(root: Any, rest: Sequence[str]) -> tuple[Any, int]:
    """The command the words at the start of `rest` name, and how many words name it."""
    command, depth = root, 0
    while depth < len(rest):
        commands = getattr(command, "commands", None)
        if not isinstance(commands, dict) or rest[depth] not in commands:
            break
        command = commands[rest[depth]]
        depth += 1
    return command, depth


def _without_debug(rest: Sequence[str], command: Any, depth: int) -> list[str]:
    """`rest` without the `--debug` words that stand as options (a value of `--tts --debug` stays)."""
    takes_value: set[str] = set()
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "option" and not param.is_flag and not param.count:
            takes_value.update(param.opts)
    out = list(rest[:depth])
    words = iter(rest[depth:])
    for word in words:
        if word == "--":
            out += [word, *words]
            break
        if word == DEBUG:
            continue
        out.append(word)
        if word in takes_value:
            value = next(words, None)
            if value is not None:
                out.append(value)
    return out


def _missing(option: str) -> UsageError:
    value = "json" if option in ("-o", "--output") else "NAME"
    return UsageError(f"option {option} needs a value", f"e.g. callplay {option} {value} play CALL SOURCE")
