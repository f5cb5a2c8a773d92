"""What `--help` shows beyond each command's own docstring and option help, applied in one place to the click
command Typer builds: metavars that name the thing, whole-sentence summaries, and an "Examples:" epilog.

Typer's defaults (rich_markup_mode=None) print `<str>`/`<float>` for an option without a metavar and `{CALL}`
for a required argument in the usage line; `polish()` fixes both for every command, including ones added
later (an option missing from METAVARS gets a name from its type, never `<str>`).

Imported by `callplay --help`: nothing here may import a provider SDK.
"""

from __future__ import annotations

from typing import Any

import typer

from callplay.output import OUTPUT_MODES
from callplay.providers import all_facts
from callplay.providers.facts import signalwire  # the choices' one home

# Option metavars by flag, or by "command path flag" where one flag means different things.
METAVARS: dict[str, str] = {
    "--tts": "TEXT|@FILE",
    "--ssml": "TEXT|@FILE",
    "--voice": "NAME",
    "--language": "LOCALE",
    "--gender": "|".join(signalwire.GENDERS),
    "--to": "ID",
    "--volume": "DB",
    "--direction": "|".join(signalwire.DIRECTIONS),
    "--cache-id": "ID",
    "--timeout": "SECONDS",
    "--callback-url": "URL",
    "--listen": "HOST:PORT",
    "--option": "KEY=VALUE",
    "--profile": "NAME",
    "--output": "|".join(OUTPUT_MODES),
    "--times": "N",
    "--control-id": "ID",
    "--target": "TARGET",
    "--include": "GLOB",
    "--exclude": "GLOB",
    "--format": "table|json|junit|github",
    "--report": "FILE",
    "--jobs": "N",
    "--ignore": "RULE,...",
    "--out": "DIR",
    "chime lambda-package --out": "FILE",
    "--hooks": "FILE",
    "--peak-dbfs": "DBFS",
    "--encoding": "|".join(dict.fromkeys(e for f in all_facts() for e in f.audio.convert_encodings)),
    "--call": "CALL",
    "--calls-from": "FILE",
    "--concurrency": "N",
    "--rate": "PER_SECOND",
    "--call-prefix": "PREFIX",
    "--limit": "N",
    "--since": "DURATION",
    "--port": "PORT",
    "--tls-port": "PORT",
    "--host": "HOST",
    "--count": "N",
    "--face": "FACE",
    "--calls": "N",
    "--speed": "FACTOR",
    "--write-config": "FILE",
    "--state-dir": "DIR",
    "--config": "FILE",
}
# The fallback for an option not listed above, by click type name: still a name, never `<str>`.
_BY_TYPE = {"text": "TEXT", "integer": "N", "float": "NUMBER", "path": "PATH", "boolean": "BOOL"}

# Top-level summaries: whole sentences that fit `callplay --help` at 80 columns (60 characters).
SHORT_HELP: dict[str, str] = {
    "play": "Play audio, TTS, SSML or silence into a call.",
    "loop": "Play sources repeatedly, until stopped or --times N.",
    "stop": "Stop a playback.",
    "pause": "Pause a playback, keeping its position (SignalWire).",
    "resume": "Resume a paused playback (SignalWire).",
    "volume": "Change a running playback's volume (SignalWire).",
    "stream-status": "Show a call's state, participants and playbacks.",
    "playbacks": "List callplay's playbacks across calls, newest first.",
    "validate-audio": "Check audio files against each provider's rules.",
    "convert": "Write copies of audio files that each provider plays.",
    "completions": "Print a shell completion script.",
    "events": "Playback events: recorded ones, and a receiver.",
    "profiles": "Profiles from the config file.",
    "emulator": "The local provider emulator.",
    "chime": "Amazon Chime SDK helpers.",
    "state": "callplay's ledger: where it is and its schema.",
}

# Two or three real examples per command, by command path.
EXAMPLES: dict[str, list[str]] = {
    "": [
        'callplay play bridge-1 --tts "We are investigating an outage"',
        "callplay stop bridge-1",
        "callplay validate-audio prompts/ --target chime",
    ],
    "play": [
        'callplay play bridge-1 --tts "We are investigating an outage"',
        "callplay play bridge-1 prompts/intro.wav silence:2 --to LEG-A --dry-run",
        "callplay play notice.wav --calls-from bridges.txt --wait -p acs-prod",
    ],
    "loop": [
        "callplay loop bridge-1 https://example.com/hold.wav --times 3 -p sw-prod",
        "callplay loop prompts/hold.wav --call bridge-1 --call bridge-2 --wait",
        "callplay loop bridge-1 hold.wav --times 2 --wait -o jsonl | jq -r .kind",
    ],
    "stop": [
        "callplay stop bridge-1 -c pb-42 -o json",
        "callplay stop --calls-from bridges.txt --rate 5",
        "callplay stop --all -p acs-prod --call-prefix bridge-",
    ],
    "pause": ["callplay pause bridge-1", "callplay pause bridge-1 -c pb-42 -p sw-prod"],
    "resume": ["callplay resume bridge-1", "callplay resume bridge-1 -c pb-42 -p sw-prod"],
    "volume": [
        "callplay volume bridge-1 -6",
        "callplay volume bridge-1 +3 -c pb-42 -p sw-prod",
        "callplay volume --calls-from bridges.txt -6 -p sw-prod",
    ],
    "stream-status": ["callplay stream-status bridge-1", "callplay stream-status bridge-1 -p acs-prod -o json"],
    "playbacks": [
        "callplay playbacks --active",
        "callplay playbacks --call bridge-1 --since 2h --refresh",
        "callplay playbacks --since 1d --limit 50 -o json",
    ],
    "validate-audio": [
        "callplay validate-audio prompts/ --target chime",
        "callplay validate-audio prompts/ --quick --format github",
        "callplay validate-audio prompts/ --format junit --report audio.xml",
    ],
    "convert": [
        "callplay convert prompts/ --target chime --out converted/",
        "callplay convert hold.mp3 --target acs,vonage --normalize --out converted/",
    ],
    "completions": [
        "callplay completions bash > /etc/bash_completion.d/callplay",
        "callplay completions zsh > ~/.zfunc/_callplay",
        "callplay completions fish > ~/.config/fish/completions/callplay.fish",
    ],
    "events": ["callplay events list --call bridge-1", "callplay events listen --port 8765"],
    "events list": ["callplay events list", "callplay events list -c pb-42 -o json", "callplay events list --limit 20"],
    "events listen": [
        "callplay events listen --port 8765",
        "callplay events listen --host 0.0.0.0 --port 8765 --log-format json -o jsonl",
        "callplay events listen -o jsonl | jq -c 'select(.kind == \"event\") | .data'",
    ],
    "profiles": ["callplay profiles list", "callplay profiles show sw-prod"],
    "profiles list": ["callplay profiles list", "callplay profiles list -o json"],
    "profiles show": ["callplay profiles show", "callplay profiles show sw-prod -o json"],
    "profiles check": ["callplay profiles check", "callplay profiles check sw-prod"],
    "profiles add": [
        "callplay profiles add prod --provider acs --from-env --default",
        "callplay profiles add prod --set access_key_env=ACS_ACCESS_KEY",
        "callplay profiles add prod --set timeout=20 --unset voice",
    ],
    "emulator": [
        "callplay emulator serve --any-call",
        "callplay emulator serve --call bridge-1 --write-config emu.toml",
    ],
    "emulator serve": [
        "callplay emulator serve --any-call",
        "callplay emulator serve --call bridge-1 --write-config emu.toml",
        "callplay emulator serve --face acs --port 9000 --speed 10",
    ],
    "chime": ["callplay chime lambda-package", "callplay chime lambda-package --hooks hooks.py --out lambda.zip"],
    "chime lambda-package": [
        "callplay chime lambda-package",
        "callplay chime lambda-package --hooks hooks.py --out lambda.zip",
    ],
    "state": ["callplay state info", "callplay state migrate"],
    "state info": ["callplay state info", "callplay state info -o json"],
    "state migrate": [
        "callplay state migrate",
        "callplay state migrate -o json",
    ],
}


def epilog(path: str) -> str | None:
    """The "Examples:" block; `\\b` keeps click's formatter from rewrapping the lines into one paragraph."""
    examples = EXAMPLES.get(path)
    if not examples:
        return None
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in examples)


class _Argument(typer.core.TyperArgument):
    """Typer's argument, without the braces it puts around a required one in the usage line (`{CALL}`)."""

    def make_metavar(self, ctx: Any, *, usage: bool = False) -> str:
        if usage and self.required and self.metavar is not None:
            return self.metavar
        return super().make_metavar(ctx, usage=usage)


def polish(command: Any, path: str = "") -> Any:
    """Apply metavars, summaries and examples to `command` and every subcommand; returns it."""
    if command.epilog is None:
        command.epilog = epilog(path)
    for param in command.params:
        if isinstance(param, typer.core.TyperArgument):
            if param.metavar is None:
                param.metavar = (param.name or "").upper()
            param.__class__ = _Argument
        elif not getattr(param, "is_flag", False) and getattr(param, "metavar", None) is None:
            flag = max(param.opts, key=len)
            param.metavar = METAVARS.get(f"{path} {flag}", METAVARS.get(flag)) or _BY_TYPE.get(
                param.type.name, param.type.name.upper()
            )
    for name, sub in (getattr(command, "commands", None) or {}).items():
        if not path and name in SHORT_HELP and sub.short_help is None:
            sub.short_help = SHORT_HELP[name]
        polish(sub, f"{path} {name}".strip())
    return command
