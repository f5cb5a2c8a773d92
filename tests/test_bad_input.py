"""The bad-input sweep (issue 11): every input a user can get wrong ends in its documented exit code.

Each row is one command line (plus environment, config file or emulator fault) and the exit code README's
"Output and exit codes" gives it: 2 usage, 3 configuration, 4 not supported by this provider, 5 rejected,
6 unavailable, 7 audio invalid. Every row also asserts the shape of the failure: an `error:` line and a
`hint:` line on stderr, no traceback and no "unexpected error" (exit 1 is for bugs).

The rows are data: add one to a table below, or a value to a list that a table crosses with others. Paths
that need a real file are written as placeholders (`{missing}`, `{dir}`, `{fifo}`, `{wav}`, ...) that the
`paths` fixture fills in. Everything runs in this process (`run_cli`) against the session's emulator, with
`--dry-run` wherever a check could be missed, so that a missing check shows as exit 0, never as a playback.

A row that fails only because someone else's part of issue 11 has not landed yet is marked
`xfail(strict=True, reason="OWNER: what")`: it XPASSes (and so fails) once that work lands, and the mark
comes off.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from callplay.emulator.app import EmulatorServer
from callplay.errors import ExitCode
from tests.audio import gen
from tests.conftest import CliResult, admin, run_cli

USAGE, CONFIG, UNSUPPORTED, REJECTED, UNAVAILABLE, AUDIO = 2, 3, 4, 5, 6, 7

EMULATOR_PROFILES = ("emulator-acs", "emulator-signalwire", "emulator-vonage", "emulator-chime")
PROFILES = ("demo", *EMULATOR_PROFILES)  # demo: the built-in profile (the embedded emulator, ACS face)
PROVIDER_OF = {"demo": "acs", **{p: p.removeprefix("emulator-") for p in EMULATOR_PROFILES}}


@dataclass(frozen=True)
class Row:
    """One bad input: the command line, its documented exit code, and what it runs under."""

    argv: tuple[str, ...]
    code: int
    env: dict[str, str] = field(default_factory=dict)
    config: str | None = None  # TOML text for CALLPLAY_CONFIG (mode 0600); None: the emulator's own config
    config_mode: int = 0o600
    mentions: str | None = None  # a word the error line must name (the option at fault)


def case(argv: tuple[str, ...], code: int, *, id: str, marks: Any = (), **kw: Any) -> Any:
    return pytest.param(Row(argv, code, **kw), id=id, marks=marks)


# ------------------------------------------------------------------------------------------------ fixtures


@dataclass
class Paths:
    """Real files for the placeholders in the rows."""

    values: dict[str, str]

    def fill(self, text: str) -> str:
        for key, value in self.values.items():
            text = text.replace("{" + key + "}", value)
        return text


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """One set of files for the whole module: no row writes to them (a row that did would be a finding)."""
    tmp_path = tmp_path_factory.mktemp("bad-input")
    wav = tmp_path / "prompt.wav"
    gen.write(wav, 8000, 1, "PCM_16", 0.2)
    directory = tmp_path / "a-directory"
    directory.mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)  # reading it would block for ever: every check must refuse it before opening it
    plain = tmp_path / "a-file"
    plain.write_text("not a directory\n")
    latin1 = tmp_path / "latin1.xml"
    latin1.write_bytes("<speak>caf\xe9</speak>".encode("latin-1"))
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\n")
    bad_name = os.fsencode(tmp_path) + b"/caf\xe9.wav"  # a name that is not UTF-8, as argv delivers it
    with open(bad_name, "wb") as fh:
        fh.write(wav.read_bytes())
    return Paths(
        {
            "wav": str(wav),
            "dir": str(directory),
            "fifo": str(fifo),
            "file": str(plain),
            "missing": str(tmp_path / "no-such-file.wav"),
            "latin1": str(latin1),
            "blank": str(blank),
            "badname": os.fsdecode(bad_name),
            "out": str(tmp_path / "out"),
            "tmp": str(tmp_path),
            "state": str(tmp_path / "state"),
        }
    )


@pytest.fixture(scope="module")
def emulator_config(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The config `emulator serve --write-config` writes for the session's emulator, written once.

    The emulator is looked up rather than declared: a test that names the `emulator` fixture has its faults
    reset afterwards (two admin requests), which only the tests here that set faults need.
    """
    emulator: EmulatorServer = request.getfixturevalue("emulator")
    path = tmp_path_factory.mktemp("bad-input-config") / "emulator.toml"
    emulator.write_config(path)
    return path


@pytest.fixture
def run_row(
    emulator_config: Path, tmp_path: Path, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Row], CliResult]:
    """Run one row: its config (or the emulator's), its environment, its placeholders filled in, in a
    directory of its own (a row whose check is missing must not leave `~user/...` in the checkout)."""
    monkeypatch.chdir(tmp_path)

    def run(row: Row) -> CliResult:
        config = emulator_config
        if row.config is not None:
            config = tmp_path / "row.toml"
            config.write_bytes(paths.fill(row.config).encode("utf-8", "surrogateescape"))
            config.chmod(row.config_mode)
        # One ledger for the module (no row writes to it): creating a fresh one costs more than most rows.
        env = {
            "CALLPLAY_CONFIG": str(config),
            "CALLPLAY_STATE_DIR": paths.values["state"],
            **{k: paths.fill(v) for k, v in row.env.items()},
        }
        return run_cli(*(paths.fill(a) for a in row.argv), env=env, timeout=20)

    return run


def assert_documented_failure(result: CliResult, row: Row) -> None:
    """The documented exit code, `error:` and `hint:` lines, no traceback, no "unexpected error"."""
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    problems = []
    if result.exit_code != row.code:
        problems.append(f"exit {result.exit_code}, documented: {row.code}")
    if not errors:
        problems.append("no `error:` line")
    if not any(line.startswith("hint: ") for line in lines):
        problems.append("no `hint:` line")
    if "Traceback" in result.stderr or "unexpected error" in result.stderr:
        problems.append("a traceback or an unexpected error")
    if row.mentions is not None and errors and row.mentions.lstrip("-") not in errors[0]:
        problems.append(f"the error does not name {row.mentions}")
    if problems:
        # Without pytest's traceback: the command line and its stderr say it all (and an xfail row stays cheap).
        argv = " ".join(repr(a) if not a or any(c.isspace() or not c.isprintable() for c in a) else a for a in row.argv)
        pytest.fail(f"callplay {argv}: {'; '.join(problems)}\n--- stderr:\n{result.stderr}", pytrace=False)


# --------------------------------------------------------------------------------------------- call IDs

BAD_CALL_IDS = {
    "empty": "",
    "blank": "   ",
    "padded": " c1",
    "control-char": "c1\x01",
    "newline": "c1\nc2",
    "delete": "c1\x7f",
    "not-utf8": "c1\udce9",  # the byte 0xE9 in argv, surrogate-escaped as Python delivers it
}
CALL_COMMANDS = {
    "play": ("play", "{call}", "--tts", "hi", "--dry-run"),
    "loop": ("loop", "{call}", "--tts", "hi", "--times", "2", "--dry-run"),
    "stop": ("stop", "{call}"),
    "pause": ("pause", "{call}"),
    "resume": ("resume", "{call}"),
    "volume": ("volume", "{call}", "-6"),
    "stream-status": ("stream-status", "{call}"),
}
# The call ID is checked before the profile is read, the same on every provider: each (command, ID) pair runs
# on one profile, in turn, so that every profile sees every command and every kind of bad ID.
CALL_ID_ROWS = [
    case((*(call_id if a == "{call}" else a for a in argv), "-p", profile), USAGE, id=f"{command}-{name}-{profile}")
    for n, (command, argv, name, call_id) in enumerate(
        (command, argv, name, call_id)
        for command, argv in CALL_COMMANDS.items()
        for name, call_id in BAD_CALL_IDS.items()
    )
    for profile in (PROFILES[n % len(PROFILES)],)
]
CALL_ID_ROWS += [
    case(("stop", "c1", "--control-id", value, "-p", profile), USAGE, id=f"stop-control-id-{name}-{profile}")
    for name, value in (("empty", ""), ("control-char", "cp-\x1b[2J"), ("not-utf8", "cp-\udcff"))
    for profile in PROFILES
]


# ---------------------------------------------------------------------------------------------- numbers

BAD_NUMBERS = ("-1", "0", "nan", "inf", "1e30", "99999999999999999999", "abc", "")


@dataclass(frozen=True)
class NumberOption:
    argv: tuple[str, ...]  # with {v} where the value goes
    kind: str  # "int" or "float": what click parses (others are callplay's own: "text")
    valid: Callable[[float], bool]  # values that are fine (skipped: they would run the command)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _click_parses(kind: str, text: str) -> bool:
    if kind == "text":
        return True
    if kind == "int":
        try:
            int(text)
            return True
        except ValueError:
            return False
    return _number(text) is not None


NUMBER_OPTIONS = {
    "play--volume": NumberOption(
        ("play", "c1", "--tts", "hi", "--volume", "{v}", "--dry-run", "-p", "emulator-signalwire"),
        "float",
        lambda v: -40 <= v <= 40,
    ),
    "play--timeout": NumberOption(
        ("play", "c1", "--tts", "hi", "--wait", "--timeout", "{v}", "--dry-run", "-p", "emulator-acs"),
        "float",
        lambda v: 0 < v <= 30 * 86400,
    ),
    "loop--times": NumberOption(
        ("loop", "c1", "--tts", "hi", "--times", "{v}", "--dry-run", "-p", "emulator-signalwire"),
        "int",
        lambda v: 0 <= v < 2**31,
    ),
    "loop--timeout": NumberOption(
        ("loop", "c1", "--tts", "hi", "--wait", "--timeout", "{v}", "--dry-run", "-p", "emulator-signalwire"),
        "float",
        lambda v: 0 < v <= 30 * 86400,
    ),
    "volume-DB": NumberOption(
        ("volume", "c1", "{v}", "-c", "cp-000000000000", "-p", "emulator-signalwire"),
        "text",
        lambda v: -40 <= v <= 40,
    ),
    "silence": NumberOption(
        ("play", "c1", "silence:{v}", "--dry-run", "-p", "emulator-signalwire"), "text", lambda v: False
    ),
    "listen-port": NumberOption(
        ("play", "c1", "--tts", "hi", "--wait", "--listen", "127.0.0.1:{v}", "--dry-run", "-p", "emulator-acs"),
        "text",
        lambda v: 0 <= v <= 65535,
    ),
    "events-list--limit": NumberOption(("events", "list", "--limit", "{v}"), "int", lambda v: v >= 1),
    "events-listen--port": NumberOption(
        ("events", "listen", "--port", "{v}", "--timeout", "0.01"), "int", lambda v: 0 <= v <= 65535
    ),
    "events-listen--count": NumberOption(
        ("events", "listen", "--port", "0", "--count", "{v}", "--timeout", "0.01"), "int", lambda v: v >= 1
    ),
    "events-listen--timeout": NumberOption(
        ("events", "listen", "--port", "0", "--timeout", "{v}"), "float", lambda v: False
    ),
    # --speed -1 as well: were a check missing, the command must still end (the error line must name the option).
    "emulator--port": NumberOption(
        ("emulator", "serve", "--port", "{v}", "--tls-port", "0", "--speed", "-1"), "int", lambda v: 0 <= v <= 65535
    ),
    "emulator--tls-port": NumberOption(
        ("emulator", "serve", "--port", "0", "--tls-port", "{v}", "--speed", "-1"), "int", lambda v: 0 <= v <= 65535
    ),
    "emulator--calls": NumberOption(
        ("emulator", "serve", "--calls", "{v}", "--port", "0", "--tls-port", "0", "--speed", "-1"),
        "int",
        lambda v: 0 <= v <= 100_000,
    ),
    "emulator--speed": NumberOption(
        ("emulator", "serve", "--speed", "{v}", "--port", "0", "--tls-port", "0"), "float", lambda v: 0 < v <= 1e6
    ),
    "convert--peak-dbfs": NumberOption(
        ("convert", "{wav}", "--target", "acs", "--out", "{out}", "--normalize", "--peak-dbfs", "{v}"),
        "float",
        lambda v: -60 <= v <= 0,
    ),
    "convert--jobs": NumberOption(
        ("convert", "{wav}", "--target", "acs", "--out", "{out}", "--jobs", "{v}"), "int", lambda v: 0 <= v <= 1024
    ),
    "validate-audio--jobs": NumberOption(
        ("validate-audio", "{wav}", "--target", "acs", "--jobs", "{v}"), "int", lambda v: 0 <= v <= 1024
    ),
}


def _number_rows() -> Iterator[Any]:
    for name, opt in NUMBER_OPTIONS.items():
        for text in BAD_NUMBERS:
            value = _number(text)
            if _click_parses(opt.kind, text) and value is not None and opt.valid(value):
                continue  # a good value: not this sweep's business
            argv = tuple(a.replace("{v}", text) for a in opt.argv)
            # Click parses int and float options itself (and says which option); callplay checks the range.
            mentions = "silence:" if name == "silence" else "volume" if name == "volume-DB" else _option_of(opt)
            yield case(argv, USAGE, id=f"{name}={text or 'empty'}", mentions=mentions)


def _option_of(opt: NumberOption) -> str:
    """The option a row's value belongs to: the word before {v} (--listen for HOST:{v})."""
    at = next(i for i, a in enumerate(opt.argv) if "{v}" in a)
    return opt.argv[at - 1]


NUMBER_ROWS = list(_number_rows())


# ---------------------------------------------------------------------------------------------- sources

# SOURCE -> its exit code, and where a provider differs, that provider's (SignalWire takes no SSML: exit 4
# before the SSML itself is read).
SOURCES: dict[str, tuple[int, dict[str, int]]] = {
    "tts:": (USAGE, {}),
    "tts:   ": (USAGE, {}),
    "ssml:": (USAGE, {}),
    "ssml:<speak>unclosed": (USAGE, {"signalwire": UNSUPPORTED}),
    "ssml:<p>not speak</p>": (USAGE, {"signalwire": UNSUPPORTED}),
    "ssml:plain words": (USAGE, {"signalwire": UNSUPPORTED}),
    "ssml:<speak>a</speak><speak>b</speak>": (USAGE, {"signalwire": UNSUPPORTED}),
    "ssml:@{missing}": (USAGE, {}),
    "ssml:@{dir}": (USAGE, {}),
    "ssml:@{fifo}": (USAGE, {}),
    "ssml:@{latin1}": (USAGE, {}),
    "ssml:@~no_such_user_cp/prompt.xml": (USAGE, {}),
    "silence:0": (USAGE, {}),
    "silence:3601": (USAGE, {}),
    "silence:1.5.5": (USAGE, {}),
    "{missing}": (USAGE, {}),
    "{dir}": (USAGE, {}),
    "{fifo}": (USAGE, {}),
    "{badname}": (USAGE, {}),
    "~no_such_user_cp/a.wav": (USAGE, {}),
    "ftp://example.com/a.wav": (USAGE, {}),
    "s3://bucket-only": (USAGE, {}),
    "http://": (USAGE, {}),
    "https:// example.com/a.wav": (USAGE, {}),
    "https://example.com/\udce9.wav": (USAGE, {}),
    "tts:caf\udce9": (USAGE, {}),
    # issue 12: tts:@FILE and tts:- (stdin: empty in every row)
    "tts:@{missing}": (USAGE, {}),
    "tts:@{dir}": (USAGE, {}),
    "tts:@{fifo}": (USAGE, {}),
    "tts:@{latin1}": (USAGE, {}),
    "tts:@{blank}": (USAGE, {}),
    "tts:@": (USAGE, {}),
    "tts:-": (USAGE, {}),
    "ssml:@{blank}": (USAGE, {}),
}
# A source a provider treats differently runs on every provider; the others on one profile each, in turn.
SOURCE_ROWS = [
    case(
        ("play", "c1", source, "--dry-run", "-p", profile),
        overrides.get(PROVIDER_OF[profile], code),
        id=f"{source.encode('ascii', 'backslashreplace').decode()}-{profile}",
    )
    for n, (source, (code, overrides)) in enumerate(SOURCES.items())
    for profile in (EMULATOR_PROFILES if overrides else (PROFILES[n % len(PROFILES)],))
]


# ----------------------------------------------------------------------------- options a provider may lack

# Extra arguments for `play c1 --tts hi --dry-run` -> the exit code per provider (a provider left out takes
# them: not a bad input there).
PROVIDER_OPTIONS: dict[tuple[str, ...], dict[str, int]] = {
    ("--direction", "listen"): {"acs": UNSUPPORTED, "vonage": UNSUPPORTED, "chime": UNSUPPORTED},
    ("--direction", "sideways"): {
        "acs": UNSUPPORTED,
        "signalwire": USAGE,
        "vonage": UNSUPPORTED,
        "chime": UNSUPPORTED,
    },
    ("--direction", ""): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--option", "foo=bar"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--option", "noequals"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--option", "=value"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--option", "style=2"): {"acs": UNSUPPORTED, "signalwire": UNSUPPORTED, "chime": UNSUPPORTED},
    ("--option", "ringtone=us"): {"acs": UNSUPPORTED, "vonage": UNSUPPORTED, "chime": UNSUPPORTED},
    ("--option", "engine=neural"): {"acs": UNSUPPORTED, "signalwire": UNSUPPORTED, "vonage": UNSUPPORTED},
    ("--option", "engine=turbo"): {
        "acs": UNSUPPORTED,
        "signalwire": UNSUPPORTED,
        "vonage": UNSUPPORTED,
        "chime": USAGE,
    },
    ("--option", "style=abc"): {"vonage": USAGE},
    ("--option", "style=-1"): {"vonage": USAGE},
    ("--option", "premium=maybe"): {"vonage": USAGE},
    ("--option", "ringtone=nope"): {"signalwire": USAGE},
    ("--option", "ringtone=us:-1"): {"signalwire": USAGE},
    ("--option", "ringtone=us:nan"): {"signalwire": USAGE},
    ("--option", "leg=LEG-C"): {"chime": USAGE},
    ("--option", "text_type=html"): {"chime": USAGE},
    ("--option", "k=\udce9"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--cache-id", "abc"): {"signalwire": UNSUPPORTED, "vonage": UNSUPPORTED, "chime": UNSUPPORTED},
    ("--cache-id", "a\tb"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--gender", "robot"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--voice", "x\x00y"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--language", ""): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--to", "bogus"): {"acs": USAGE, "signalwire": UNSUPPORTED, "vonage": UNSUPPORTED, "chime": USAGE},
    ("--to", "LEG-A", "--to", "LEG-B"): {
        "acs": USAGE,
        "signalwire": UNSUPPORTED,
        "vonage": UNSUPPORTED,
        "chime": USAGE,
    },
    ("--volume", "3"): {"acs": UNSUPPORTED, "chime": UNSUPPORTED},
    ("--volume", "41"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--interrupt", "--to", "4:+14255550123"): {
        "acs": USAGE,
        "signalwire": UNSUPPORTED,
        "vonage": UNSUPPORTED,
        "chime": USAGE,
    },
    ("--callback-url", "ftp://example.com/events"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--callback-url", ""): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--callback-url", "https://"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--callback-url", "not a url"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--callback-url", "https://example.com:99999/e"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--listen", "no-port"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--listen", "127.0.0.1:"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("--listen", "127.0.0.1:70000"): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),
    ("tts:second item",): {"vonage": UNSUPPORTED},
    ("--wait",): {"vonage": UNSUPPORTED},
    ("-p",): dict.fromkeys(("acs", "signalwire", "vonage", "chime"), USAGE),  # -p's value missing: click's
}
PROVIDER_OPTION_ROWS = [
    case(
        ("play", "c1", "--tts", "hi", "--dry-run", "-p", profile, *extra),
        by_provider[PROVIDER_OF[profile]],
        id=f"{' '.join(extra).encode('ascii', 'backslashreplace').decode() or 'none'}-{profile}",
    )
    for extra, by_provider in PROVIDER_OPTIONS.items()
    for profile in EMULATOR_PROFILES
    if PROVIDER_OF[profile] in by_provider
]
# The demo profile is ACS on an emulator started in this process for each command (a quarter of a second):
# a few rows show it refuses the same way.
PROVIDER_OPTION_ROWS += [
    case(("play", "c1", "--tts", "hi", "--dry-run", "-p", "demo", *extra), code, id=f"{' '.join(extra)}-demo")
    for extra, code in (
        (("--direction", "listen"), UNSUPPORTED),
        (("--option", "foo=bar"), USAGE),
        (("--option", "style=2"), UNSUPPORTED),
        (("--ssml", "<speak>unclosed"), USAGE),
    )
]
# Loop counts: the provider's own maximum (SignalWire: int32), a profile's (Chime: repeat_max), or none.
LOOP_ROWS = [
    case(
        ("loop", "c1", "--tts", "hi", "--times", times, "--dry-run", "-p", profile), code, id=f"loop-{times}-{profile}"
    )
    for profile, times, code in (
        ("emulator-acs", "3", UNSUPPORTED),  # ACS loops only until stopped
        ("demo", "3", UNSUPPORTED),
        ("emulator-signalwire", str(2**31), UNSUPPORTED),
        ("emulator-chime", "0", UNSUPPORTED),  # Chime cannot loop until stopped
        ("emulator-chime", "101", UNSUPPORTED),  # over repeat_max
        ("emulator-vonage", str(2**63), USAGE),  # over what the ledger can keep
        ("emulator-signalwire", "-5", USAGE),
    )
]


# ---------------------------------------------------------------------------------------------- configs

ACS = '[profiles.x]\nprovider = "acs"\nendpoint = "http://127.0.0.1:9"\naccess_key = "a2V5"\n'
SW = '[profiles.x]\nprovider = "signalwire"\nspace = "127.0.0.1:9"\nproject = "p"\ntoken = "t"\n'
VONAGE = '[profiles.x]\nprovider = "vonage"\napplication_id = "app"\nprivate_key = "{missing}"\n'
CHIME = '[profiles.x]\nprovider = "chime"\nsip_media_application_id = "sma"\nendpoint_url = "http://127.0.0.1:9"\n'

# A config that is wrong as a file or as a profile: every command that reads profile x refuses it (exit 3).
BAD_CONFIGS: dict[str, str] = {
    "toml-syntax": "[profiles.x\n",
    "not-utf8": ACS + 'voice = "caf\udce9"\n',
    "audio-not-a-table": "audio = 5\n" + ACS,
    "profiles-not-a-table": "profiles = 5\n",
    "profile-not-a-table": "[profiles]\nx = 5\n",
    "default-profile-not-a-string": "default_profile = 5\n" + ACS,
    "unknown-top-level-key": "defualt_profile = 'x'\n" + ACS,
    "no-provider": "[profiles.x]\nendpoint = 'http://127.0.0.1:9'\n",
    "provider-not-a-string": "[profiles.x]\nprovider = 5\n",
    "unknown-provider": "[profiles.x]\nprovider = 'twilio'\n",
    "acs-unknown-setting": ACS + 'colour = "red"\n',
    "acs-timeout-0": ACS + "timeout = 0\n",
    "acs-timeout-negative": ACS + "timeout = -1\n",
    "acs-timeout-nan": ACS + "timeout = nan\n",
    "acs-timeout-inf": ACS + "timeout = inf\n",
    "acs-timeout-text": ACS + 'timeout = "soon"\n',
    "acs-retries-negative": ACS + "retries = -1\n",
    "acs-retries-huge": ACS + "retries = 1000000\n",
    "acs-retries-fraction": ACS + "retries = 1.5\n",
    "acs-callback-ftp": ACS + 'callback_url = "ftp://example.com/events"\n',
    "acs-callback-no-host": ACS + 'callback_url = "https://"\n',
    "sw-no-project": '[profiles.x]\nprovider = "signalwire"\nspace = "127.0.0.1:9"\ntoken = "t"\n',
    "sw-space-ftp": SW.replace('"127.0.0.1:9"', '"ftp://example.com"'),
    "sw-timeout-0": SW + "timeout = 0\n",
    "sw-gender": SW + 'gender = "robot"\n',
    "sw-callback-ftp": SW + 'callback_url = "ftp://example.com/e"\n',
    "vonage-no-key": '[profiles.x]\nprovider = "vonage"\napplication_id = "app"\n',
    "vonage-key-unknown-user": VONAGE.replace("{missing}", "~no_such_user_cp/private.key"),
    "vonage-api-host-url": VONAGE + 'api_host = "https://api.nexmo.com/v1"\n',
    "vonage-style-negative": VONAGE + "style = -1\n",
    "chime-region": CHIME + 'region = "mars"\n',
    "chime-repeat-max-0": CHIME + "repeat_max = 0\n",
    "chime-bucket": CHIME + 'bucket = "Not_A_Bucket"\n',
    "chime-engine": CHIME + 'engine = "turbo"\n',
    "chime-timeout-nan": CHIME + "timeout = nan\n",
    "chime-callback-ftp": CHIME + 'callback_url = "ftp://example.com/e"\n',
    "chime-ca-bundle-missing": CHIME + 'ca_bundle = "{missing}"\n',
    "acs-endpoint-not-a-url": ACS.replace('"http://127.0.0.1:9"', '"not a url"'),
    "acs-endpoint-ftp": ACS.replace('"http://127.0.0.1:9"', '"ftp://example.com"'),
    "acs-endpoint-port": ACS.replace('"http://127.0.0.1:9"', '"http://127.0.0.1:99999"'),
    "acs-ca-file-missing": ACS + 'ca_file = "{missing}"\n',
    "acs-ca-file-directory": ACS + 'ca_file = "{dir}"\n',
    "acs-secret-env-not-a-string": ACS.replace('access_key = "a2V5"', "access_key_env = 5"),
    "sw-space-port": SW.replace('"127.0.0.1:9"', '"127.0.0.1:99999"'),
    "vonage-api-host-port": VONAGE + 'api_host = "127.0.0.1:99999"\n',
}
CONFIG_COMMANDS = {
    "profiles-show": ("profiles", "show", "x"),
    "play": ("play", "c1", "--tts", "hi", "--dry-run", "-p", "x"),
    "stop": ("stop", "c1", "-p", "x"),
    "stream-status": ("stream-status", "c1", "-p", "x"),
}
# Each bad config under `profiles show` and `play`, and in turn under one of the other commands.
CONFIG_ROWS = [
    case(argv, CONFIG, config=text, id=f"{name}-{command}")
    for n, (name, text) in enumerate(BAD_CONFIGS.items())
    for command, argv in CONFIG_COMMANDS.items()
    if command == "profiles-show" or command == ("play", "stop", "stream-status")[n % 3]
]
# Configs whose profile is fine to show but cannot be used: the command that uses it refuses (exit 3).
UNUSABLE_CONFIGS = {
    "acs-secret-env-unset": ACS.replace('access_key = "a2V5"', 'access_key_env = "CALLPLAY_TEST_UNSET_KEY"'),
    "acs-key-not-base64": ACS.replace("a2V5", "not base64!"),
    "acs-no-endpoint": '[profiles.x]\nprovider = "acs"\naccess_key = "a2V5"\n',
}
CONFIG_ROWS += [
    case(argv, CONFIG, config=text, id=f"{name}-{command}")
    for name, text in UNUSABLE_CONFIGS.items()
    for command, argv in CONFIG_COMMANDS.items()
    if command != "profiles-show"
]
CONFIG_ROWS += [
    case(("play", "c1", "--tts", "hi", "-p", "x"), CONFIG, config=VONAGE, id="vonage-key-file-missing-play"),
    case(("stop", "c1", "-p", "x"), CONFIG, config=VONAGE, id="vonage-key-file-missing-stop"),
    case(
        ("play", "c1", "--tts", "hi", "-p", "x"),
        CONFIG,
        config=VONAGE.replace("{missing}", "{dir}"),
        id="vonage-key-is-a-directory",
    ),
    case(
        ("play", "c1", "--tts", "hi", "-p", "x"),
        CONFIG,
        config=VONAGE.replace("{missing}", "{file}"),
        id="vonage-key-not-pem",
    ),
    case(
        ("play", "c1", "--tts", "hi", "-p", "x"),
        CONFIG,
        config=ACS.replace('access_key = "a2V5"', 'access_key = "a2V5"  # world-readable'),
        config_mode=0o644,
        id="acs-secret-in-world-readable-file",
    ),
    case(
        ("play", "c1", "--tts", "hi", "--dry-run", "-p", "x"),
        CONFIG,
        config=CHIME.replace('"sma"', '""'),
        id="chime-no-sma-id",
    ),
    case(("profiles", "list"), CONFIG, config="[profiles.x\n", id="toml-syntax-profiles-list"),
    case(("profiles", "show"), CONFIG, config=ACS + ACS.replace(".x]", ".y]"), id="two-profiles-no-default"),
    case(("profiles", "show", "nope"), CONFIG, config=ACS, id="unknown-profile"),
    case(("validate-audio", "{wav}"), CONFIG, config=ACS + "[audio]\nmax_peak_dbfs = 'x'\n", id="audio-value-text"),
    case(("validate-audio", "{wav}"), CONFIG, config=ACS + "[audio]\nloudness = 1\n", id="audio-unknown-key"),
    case(("validate-audio", "{wav}"), CONFIG, config=ACS + "[audio]\nacs = 5\n", id="audio-target-not-a-table"),
    case(("validate-audio", "{wav}", "--target", "acs"), CONFIG, config="audio = 5\n", id="audio-not-a-table-validate"),
]


# ------------------------------------------------------------------------------------------ environment

STATE_COMMANDS = {
    "play": ("play", "c1", "--tts", "hi", "--dry-run"),
    "stop": ("stop", "c1"),
    "stream-status": ("stream-status", "c1"),
    "events-list": ("events", "list"),
    "events-listen": ("events", "listen", "--port", "0", "--timeout", "0.01"),
}
BAD_STATE_DIRS = {
    "dev-null": "/dev/null",
    "a-file": "{file}",
    "a-fifo": "{fifo}",
    "under-a-file": "{file}/state",
    "unknown-user": "~no_such_user_cp/state",
}
OUTPUT_COMMANDS = {
    "play": ("play", "c1", "--tts", "hi", "--dry-run"),
    "stop": ("stop", "c1"),
    "stream-status": ("stream-status", "c1"),
    "events-list": ("events", "list"),
    "profiles-list": ("profiles", "list"),
    "profiles-show": ("profiles", "show"),
    "validate-audio": ("validate-audio", "{wav}", "--target", "acs"),
    "convert": ("convert", "{wav}", "--target", "acs", "--out", "{out}"),
    "chime-lambda-package": ("chime", "lambda-package", "--out", "{tmp}/l.zip"),
}
ENV_ROWS = [
    case(argv, USAGE, env={"CALLPLAY_OUTPUT": value}, id=f"CALLPLAY_OUTPUT={value or 'empty'}-{command}")
    for command, argv in OUTPUT_COMMANDS.items()
    for value in ("xml", "JSON")
]
# Each bad state directory under two of the commands that open the ledger, in turn.
ENV_ROWS += [
    case(argv, CONFIG, env={"CALLPLAY_STATE_DIR": value}, id=f"CALLPLAY_STATE_DIR-{name}-{command}")
    for n, (name, value) in enumerate(BAD_STATE_DIRS.items())
    for k, (command, argv) in enumerate(STATE_COMMANDS.items())
    if k in (n % len(STATE_COMMANDS), (n + 2) % len(STATE_COMMANDS))
]
ENV_ROWS += [
    case(argv, CONFIG, env={"CALLPLAY_CONFIG": value}, id=f"CALLPLAY_CONFIG-{name}-{command}")
    for command, argv in (("profiles-list", ("profiles", "list")), *CONFIG_COMMANDS.items())
    for name, value in (
        ("missing", "{missing}"),
        ("a-directory", "{dir}"),
        ("a-fifo", "{fifo}"),
        ("unknown-user", "~no_such_user_cp/c.toml"),
    )
]
ENV_ROWS += [
    case((*argv, "-p", "emulator-acs"), CONFIG, env={name: value}, id=f"{name}={value}-{command}")
    for command, argv in (
        ("play", ("play", "c1", "--tts", "hi", "--dry-run")),
        ("stream-status", ("stream-status", "c1")),
    )
    for name, value in (
        ("CALLPLAY_TIMEOUT", "soon"),
        ("CALLPLAY_TIMEOUT", "0"),
        ("CALLPLAY_TIMEOUT", "nan"),
        ("CALLPLAY_RETRIES", "-1"),
        ("CALLPLAY_CALLBACK_URL", "ftp://example.com/e"),
    )
]
ENV_ROWS += [
    case(argv, CONFIG, env={"CALLPLAY_PROFILE": "nope"}, id=f"CALLPLAY_PROFILE=nope-{command}")
    for command, argv in (("play", ("play", "c1", "--tts", "hi", "--dry-run")), ("stop", ("stop", "c1")))
]
# The ledger's state_url (docs/state.md): a password in it, a scheme callplay does not know, no file; a server
# that does not answer is unavailable (6).
ENV_ROWS += [
    case(argv, code, env={"CALLPLAY_STATE_URL": url}, id=f"CALLPLAY_STATE_URL-{name}-{command}")
    for command, argv in (("state-info", ("state", "info")), ("play", ("play", "c1", "--tts", "hi", "--dry-run")))
    for name, url, code in (
        ("password", "postgresql://ops:pw@db.invalid/callplay", CONFIG),
        ("password-query", "postgresql://ops@db.invalid/callplay?password=pw", CONFIG),
        ("bad-port", "postgresql://ops@db.invalid:port/callplay", CONFIG),
        ("mysql", "mysql://db.invalid/callplay", CONFIG),
        ("no-scheme", "/var/lib/callplay/ledger.sqlite3", CONFIG),
        ("sqlite-no-path", "sqlite://", CONFIG),
        ("sqlite-host", "sqlite://db.invalid/ledger.sqlite3", CONFIG),
        ("no-server", "postgresql://nobody@/callplay?host={dir}", UNAVAILABLE),
    )
]
ENV_ROWS += [
    case(("state", "info"), CONFIG, config=f"state_url = {value}\n", id=f"state_url-{name}")
    for name, value in (("a-number", "5"), ("a-table", "{ path = 'x' }"), ("a-password", '"postgres://u:pw@h/d"'))
]


# ------------------------------------------------------------------------------------- other commands

OTHER_ROWS = [
    # profiles
    case(("profiles", "show", "nope"), CONFIG, id="profiles-show-unknown"),
    case(("profiles", "show", "\udcff"), CONFIG, id="profiles-show-not-utf8"),
    case(("profiles", "check", "nope"), CONFIG, id="profiles-check-unknown"),
    case(("profiles", "check", "-p", "nope"), CONFIG, id="profiles-check-p-unknown"),
    case(("profiles", "check", ""), USAGE, id="profiles-check-empty"),
    case(("profiles", "show", ""), USAGE, id="profiles-show-empty"),
    case(("play", "c1", "--tts", "hi", "--dry-run", "-p", ""), USAGE, id="play-empty-profile"),
    case(("validate-audio", "{wav}", "-p", ""), USAGE, id="validate-empty-profile"),
    case(("profiles", "check", "\udcff"), CONFIG, id="profiles-check-not-utf8"),
    # profiles add (each on a config of its own: a row that wrote would not touch the module's shared one)
    case(("profiles", "add", "x", "--set", "timeout"), USAGE, config=ACS, id="profiles-add-set-no-equals"),
    case(("profiles", "add", "x", "--set", "=5"), USAGE, config=ACS, id="profiles-add-set-empty-key"),
    case(("profiles", "add", "x", "--set", "colour=red"), USAGE, config=ACS, id="profiles-add-unknown-key"),
    case(("profiles", "add", "y", "--provider", "twilio"), USAGE, config=ACS, id="profiles-add-unknown-provider"),
    case(("profiles", "add", "y", "--provider", ""), USAGE, config=ACS, id="profiles-add-empty-provider"),
    case(("profiles", "add", "", "--provider", "acs"), USAGE, config=ACS, id="profiles-add-empty-name"),
    case(("profiles", "add", "a b", "--provider", "acs"), USAGE, config=ACS, id="profiles-add-name-space"),
    case(("profiles", "add", "\udcff", "--provider", "acs"), USAGE, config=ACS, id="profiles-add-name-not-utf8"),
    case(("profiles", "add", "x", "--set", "timeout=soon"), CONFIG, config=ACS, id="profiles-add-timeout-text"),
    case(("profiles", "add", "x", "--provider", "chime"), USAGE, config=ACS, id="profiles-add-provider-no-replace"),
    case(("profiles", "add", "y", "--provider", "acs"), CONFIG, config="[profiles.x\n", id="profiles-add-not-toml"),
    case(
        ("profiles", "add", "y", "--provider", "acs"),
        CONFIG,
        env={"CALLPLAY_CONFIG": "{dir}"},
        id="profiles-add-config-directory",
    ),
    case(
        ("profiles", "add", "y", "--provider", "acs"),
        CONFIG,
        env={"CALLPLAY_CONFIG": "{fifo}"},
        id="profiles-add-config-fifo",
    ),
    case(
        ("profiles", "add", "y", "--provider", "acs"),
        CONFIG,
        env={"CALLPLAY_CONFIG": "{file}/config.toml"},
        id="profiles-add-config-under-a-file",
    ),
    # emulator serve --write-config onto a file it did not write (hand-written: {file})
    case(
        ("emulator", "serve", "--port", "0", "--tls-port", "0", "--write-config", "{file}"),
        USAGE,
        id="emulator-write-config-foreign-file",
    ),
    # completions
    case(("completions", "powershell"), USAGE, id="completions-unknown-shell"),
    case(("completions", ""), USAGE, id="completions-empty"),
    case(("completions", "\udcff"), USAGE, id="completions-not-utf8"),
    case(("completions",), USAGE, id="completions-no-shell"),
    # chime lambda-package
    case(("chime", "lambda-package", "--out", "{tmp}/l.zip", "--hooks", "{missing}"), USAGE, id="hooks-missing"),
    case(("chime", "lambda-package", "--out", "{tmp}/l.zip", "--hooks", "{dir}"), USAGE, id="hooks-directory"),
    case(("chime", "lambda-package", "--out", "{tmp}/l.zip", "--hooks", "{fifo}"), USAGE, id="hooks-fifo"),
    case(("chime", "lambda-package", "--out", "{tmp}/l.zip", "--hooks", "{file}"), USAGE, id="hooks-no-user-hook"),
    case(
        ("chime", "lambda-package", "--out", "{tmp}/l.zip", "--hooks", "~no_such_user_cp/hooks.py"),
        USAGE,
        id="hooks-unknown-user",
    ),
    case(("chime", "lambda-package", "--out", "{dir}"), USAGE, id="lambda-out-directory"),
    case(("chime", "lambda-package", "--out", "{missing}/l.zip"), USAGE, id="lambda-out-no-parent"),
    # validate-audio
    case(("validate-audio",), USAGE, id="validate-nothing"),
    case(("validate-audio", "{missing}", "--target", "acs"), USAGE, id="validate-missing"),
    case(("validate-audio", "~no_such_user_cp/a.wav", "--target", "acs"), USAGE, id="validate-unknown-user"),
    # A file whose name is not UTF-8 is checked like any other (this 8 kHz one fails ACS's 16 kHz rule).
    case(("validate-audio", "{badname}", "--target", "acs"), AUDIO, id="validate-not-utf8-name"),
    case(("validate-audio", "{badname}", "--target", "acs", "-o", "json"), AUDIO, id="validate-not-utf8-name-json"),
    case(("validate-audio", "{wav}", "--target", "twilio"), USAGE, id="validate-unknown-target"),
    case(("validate-audio", "{wav}", "--target", ""), USAGE, id="validate-empty-target"),
    case(("validate-audio", "{wav}", "--target", "acs", "--format", "xml"), USAGE, id="validate-format"),
    case(("validate-audio", "{wav}", "--target", "acs", "--ignore", "NOPE"), USAGE, id="validate-ignore"),
    case(("validate-audio", "{wav}", "--target", "acs", "--fix"), USAGE, id="validate-fix-without-out"),
    case(("validate-audio", "{wav}", "--target", "acs", "-o", "xml"), USAGE, id="validate-output"),
    # issue 14: --missing is skip|error (exact words); a --report folder that cannot be created is still exit 2
    case(("validate-audio", "{wav}", "--target", "acs", "--missing", "maybe"), USAGE, id="validate-missing-choice"),
    case(("validate-audio", "{wav}", "--target", "acs", "--missing", "SKIP"), USAGE, id="validate-missing-upper"),
    case(("validate-audio", "{wav}", "--target", "acs", "--missing", ""), USAGE, id="validate-missing-empty"),
    case(("validate-audio", "{wav}", "-t", "acs", "--report", "{file}/r/x.xml"), USAGE, id="validate-report-in-file"),
    # convert
    case(("convert", "{wav}", "--target", "acs"), USAGE, id="convert-no-out"),
    case(("convert",), USAGE, id="convert-nothing"),
    case(("convert", "{wav}", "--target", "twilio", "--out", "{out}"), USAGE, id="convert-unknown-target"),
    case(("convert", "{wav}", "--target", "acs", "--out", "{out}", "--encoding", "mp3"), USAGE, id="convert-encoding"),
    case(("convert", "{wav}", "--target", "acs", "--out", "{out}", "--encoding", "ulaw"), USAGE, id="convert-ulaw-acs"),
    case(("convert", "{wav}", "--target", "acs", "--out", "{out}", "--in-place"), USAGE, id="convert-in-place-and-out"),
    case(("convert", "{missing}", "--target", "acs", "--out", "{out}"), USAGE, id="convert-missing"),
    case(("convert", "https://example.com/a.wav", "--target", "acs", "--out", "{out}"), USAGE, id="convert-remote"),
    # emulator serve (each row fails before anything binds)
    case(("emulator", "serve", "--face", "twilio"), USAGE, id="emulator-unknown-face"),
    case(("emulator", "serve", "--face", ""), USAGE, id="emulator-empty-face"),
    case(("emulator", "serve", "--host", ""), USAGE, id="emulator-empty-host"),
    case(("emulator", "serve", "--call", ""), USAGE, id="emulator-empty-call"),
    case(("emulator", "serve", "--call", "c\x01"), USAGE, id="emulator-call-control-char"),
    case(("emulator", "serve", "--call", "c\udce9"), USAGE, id="emulator-call-not-utf8"),
    case(("emulator", "serve", "--port", "8999", "--tls-port", "8999"), USAGE, id="emulator-same-ports"),
    case(("emulator", "serve", "--calls", "100001", "--port", "0", "--tls-port", "0"), USAGE, id="emulator-calls-max"),
    case(
        ("emulator", "serve", "--port", "0", "--tls-port", "0", "--state-dir", "~no_such_user_cp/s"),
        USAGE,
        id="emulator-state-dir-unknown-user",
    ),
    case(
        ("emulator", "serve", "--port", "0", "--tls-port", "0", "--write-config", "~no_such_user_cp/c.toml"),
        USAGE,
        id="emulator-write-config-unknown-user",
    ),
    case(("chime", "lambda-package", "--out", "~no_such_user_cp/l.zip"), USAGE, id="lambda-out-unknown-user"),
    case(
        ("validate-audio", "{wav}", "--target", "acs", "--report", "~no_such_user_cp/r.xml"),
        USAGE,
        id="validate-report-unknown-user",
    ),
    case(
        ("convert", "{wav}", "--target", "acs", "--out", "~no_such_user_cp/fixed"),
        USAGE,
        id="convert-out-unknown-user",
    ),
    # events
    case(("events", "list", "--call", ""), USAGE, id="events-list-empty-call"),
    case(("events", "list", "--call", "\udcff"), USAGE, id="events-list-call-not-utf8"),
    case(("events", "list", "--control-id", "cp-\x01"), USAGE, id="events-list-control-id-control-char"),
    case(("events", "listen", "--host", "", "--port", "0", "--timeout", "0.01"), USAGE, id="events-listen-empty-host"),
    # issue 15: the receiver as a service
    case(("events", "listen", "--port", "0", "--log-format", "xml"), USAGE, id="events-listen-log-xml", mentions="xml"),
    case(
        ("events", "listen", "--port", "0", "--log-format", "JSON"), USAGE, id="events-listen-log-caps", mentions="JSON"
    ),
    case(("events", "listen", "--host", " 0.0.0.0", "--port", "0"), USAGE, id="events-listen-host-space"),
    # issue 12: -o jsonl (the modes are exact words)
    case(("play", "c1", "--tts", "hi", "--wait", "-o", "JSONL"), USAGE, id="play-output-jsonl-upper", mentions="JSONL"),
    case(("events", "listen", "--port", "0", "-o", "ndjson"), USAGE, id="events-listen-ndjson", mentions="ndjson"),
    # issue 12: playbacks
    case(("playbacks", "--since", "-5m"), USAGE, id="playbacks-since-negative", mentions="--since"),
    case(("playbacks", "--since", "nan"), USAGE, id="playbacks-since-nan", mentions="--since"),
    case(("playbacks", "--since", "0"), USAGE, id="playbacks-since-zero", mentions="--since"),
    case(("playbacks", "--since", "soon"), USAGE, id="playbacks-since-garbage", mentions="--since"),
    case(("playbacks", "--limit", "0"), USAGE, id="playbacks-limit-zero", mentions="--limit"),
    case(("playbacks", "--limit", "99999999999999999999"), USAGE, id="playbacks-limit-huge", mentions="--limit"),
    case(("playbacks", "--call", ""), USAGE, id="playbacks-empty-call"),
    # unknown commands and options: click's
    case(("nope",), USAGE, id="unknown-command"),
    case(("play", "c1", "--bogus"), USAGE, id="unknown-option"),
    case(("volume", "c1"), USAGE, id="volume-no-level"),
    # issue 12: --tts/--ssml from a file or stdin (empty in every row)
    case(("play", "c1", "--tts", "@{missing}", "--dry-run"), USAGE, id="tts-file-missing"),
    case(("play", "c1", "--tts", "@{fifo}", "--dry-run"), USAGE, id="tts-file-fifo"),
    case(("play", "c1", "--tts", "@{blank}", "--dry-run"), USAGE, id="tts-file-blank"),
    case(("play", "c1", "--tts", "-", "--dry-run"), USAGE, id="tts-stdin-empty"),
    case(("play", "c1", "--ssml", "-", "--dry-run"), USAGE, id="ssml-stdin-empty"),
    case(("play", "c1", "--tts", "-", "--ssml", "-", "--dry-run"), USAGE, id="tts-and-ssml-both-stdin"),
    case(("loop", "c1", "--ssml", "@{dir}", "--dry-run"), USAGE, id="loop-ssml-file-directory"),
    # issue 12: global options before the command
    case(("-p",), USAGE, id="global-profile-no-value"),
    case(("-p", "--output", "json", "play", "c1", "--tts", "hi"), USAGE, id="global-profile-option-as-value"),
    case(("play", "c1", "--tts", "hi", "-o"), USAGE, id="output-no-value-after"),
    case(("--output=", "play", "c1", "--tts", "hi"), USAGE, id="global-output-empty"),
    case(("-o", "json"), USAGE, id="global-option-no-command"),
    case(("-o", "json", "--bogus"), USAGE, id="global-output-then-unknown-option"),
    case(("-o", "json", "no-such-command"), USAGE, id="global-output-then-unknown-command"),
    case(("-o", "yaml", "play", "c1", "--tts", "hi", "--dry-run"), USAGE, id="global-output-unknown"),
    case(("-p", "emulator-acs", "chime", "lambda-package"), USAGE, id="global-profile-not-taken"),
    case(("-p", "no-such-profile", "play", "c1", "--tts", "hi", "--dry-run"), CONFIG, id="global-profile-unknown"),
    # issue 13: many calls (--call, --calls-from, --concurrency, --rate, stop --all)
    case(("play", "--calls-from", "{missing}", "--tts", "hi", "--dry-run"), USAGE, id="calls-from-missing"),
    case(("stop", "--calls-from", "{dir}"), USAGE, id="calls-from-directory", mentions="--calls-from"),
    case(("pause", "--calls-from", "{latin1}"), USAGE, id="calls-from-not-utf8", mentions="--calls-from"),
    case(("loop", "--calls-from", "{blank}", "--tts", "hi", "--dry-run"), USAGE, id="calls-from-blank-lines-only"),
    # The row's config file (row.toml, in the directory the row runs in) doubles as a list of comments alone.
    case(("play", "--calls-from", "row.toml"), USAGE, config="# bridges\n# none\n", id="calls-from-comments"),
    *(
        case(("play", "c1", "--call", "c2", "--tts", "hi", "--concurrency", v), USAGE, id=f"concurrency-{v}")
        for v in ("0", "257", "nan")
    ),
    *(
        case(("play", "c1", "--call", "c2", "--tts", "hi", "--rate", v), USAGE, id=f"rate-{v}", mentions="rate")
        for v in ("-1", "nan", "inf")
    ),
    case(("stop", "c1", "--call", "c2", "-c", "cp-0"), USAGE, id="control-id-two-calls", mentions="control-id"),
    case(("stop", "--all", "-p", "nosuch"), CONFIG, id="stop-all-unknown-profile"),
    case(("stop", "--all", "c1"), USAGE, id="stop-all-with-call"),
    case(("stop", "--all", "--call", "c1"), USAGE, id="stop-all-with-call-option"),
    case(("stop", "--call-prefix", "br-"), USAGE, id="call-prefix-without-all", mentions="--call-prefix"),
    case(("play", "--calls-from", "-", "--tts", "-", "--dry-run"), USAGE, id="calls-from-and-tts-both-stdin"),
    case(("loop", "--calls-from", "-", "tts:-", "--dry-run"), USAGE, id="calls-from-and-tts-source-both-stdin"),
    # -o jsonl: click's usage errors and validate-audio speak it (one envelope line: tests/test_followups.py)
    case(("play", "--bogus", "-o", "jsonl"), USAGE, id="click-usage-error-jsonl"),
    case(("validate-audio", "{missing}", "-o", "jsonl"), USAGE, id="validate-audio-jsonl-missing-file"),
    case(("validate-audio", "{wav}", "-o", "yaml"), USAGE, id="validate-audio-output-unknown", mentions="yaml"),
    # emulator serve where it cannot bind (a TEST-NET address; a port in use: tests/test_followups.py)
    case(("emulator", "serve", "--host", "192.0.2.1", "--port", "0", "--tls-port", "0"), USAGE, id="emulator-no-bind"),
]


# ------------------------------------------------------------------------------------------------ tests
# In this order: a command registers its module with the in-process CLI, and every call then has Typer build
# every registered command; the rows that run `play` alone come first.


@pytest.mark.parametrize("row", SOURCE_ROWS)
def test_a_bad_source_is_refused(run_row: Callable[[Row], CliResult], row: Row) -> None:
    assert_documented_failure(run_row(row), row)


@pytest.mark.parametrize("row", PROVIDER_OPTION_ROWS + LOOP_ROWS)
def test_what_a_provider_cannot_take_is_refused(run_row: Callable[[Row], CliResult], row: Row) -> None:
    assert_documented_failure(run_row(row), row)


# ------------------------------------------------------------------------------ faults: nothing was sent

# Bad input on a provider that fails every request: the exit code is still the input's, and the emulator
# saw no request, so the check came before anything was sent.
FAULTED_ROWS = [
    case(("play", "c1", "-p", profile, *extra), code, id=f"{name}-{profile}")
    for profile in EMULATOR_PROFILES
    for name, extra, code in (
        ("timeout-negative", ("--tts", "hi", "--wait", "--timeout", "-1"), USAGE),
        ("unknown-option", ("--tts", "hi", "--option", "nope=1"), USAGE),
        (
            "direction",
            ("--tts", "hi", "--direction", "sideways"),
            USAGE if profile == "emulator-signalwire" else UNSUPPORTED,
        ),
        ("bad-ssml", ("--ssml", "<speak>unclosed"), UNSUPPORTED if profile == "emulator-signalwire" else USAGE),
        ("callback-ftp", ("--tts", "hi", "--callback-url", "ftp://example.com/e"), USAGE),
    )
]


@pytest.mark.parametrize("row", FAULTED_ROWS)
def test_bad_input_is_refused_before_anything_is_sent(
    emulator: EmulatorServer, run_row: Callable[[Row], CliResult], row: Row
) -> None:
    faults_url = f"{emulator.http_url}/_emulator/faults"
    before = admin.post(faults_url, json={"error_rate": 1.0, "error_status": 503}).json()["fired"]
    assert_documented_failure(run_row(row), row)
    assert admin.get(faults_url).json()["fired"] == before  # no request reached a provider face


@pytest.mark.parametrize("row", CALL_ID_ROWS)
def test_a_bad_call_id_is_a_usage_error(run_row: Callable[[Row], CliResult], row: Row) -> None:
    assert_documented_failure(run_row(row), row)


@pytest.mark.parametrize("row", CONFIG_ROWS)
def test_a_bad_config_is_a_configuration_error(run_row: Callable[[Row], CliResult], row: Row) -> None:
    assert_documented_failure(run_row(row), row)


@pytest.mark.parametrize("row", NUMBER_ROWS)
def test_a_number_out_of_range_is_a_usage_error(run_row: Callable[[Row], CliResult], row: Row) -> None:
    assert_documented_failure(run_row(row), row)


@pytest.mark.parametrize("row", ENV_ROWS)
def test_a_bad_environment_value_is_refused(run_row: Callable[[Row], CliResult], row: Row) -> None:
    assert_documented_failure(run_row(row), row)


def test_the_sweep_is_several_hundred_rows() -> None:
    rows = [
        *CALL_ID_ROWS,
        *NUMBER_ROWS,
        *SOURCE_ROWS,
        *PROVIDER_OPTION_ROWS,
        *LOOP_ROWS,
        *CONFIG_ROWS,
        *ENV_ROWS,
        *OTHER_ROWS,
        *FAULTED_ROWS,
    ]
    assert len(rows) >= 500
    assert all(row.values[0].code in set(ExitCode) - {ExitCode.OK, ExitCode.ERROR} for row in rows)


def test_the_fifo_placeholder_is_a_fifo(paths: Paths) -> None:
    assert stat.S_ISFIFO(os.stat(paths.values["fifo"]).st_mode)


# Last: `completions` and an unknown command register every command, and from then on each in-process call
# has Typer build all of them (a real process builds only its own).
@pytest.mark.parametrize("row", OTHER_ROWS)
def test_other_commands_refuse_bad_input(run_row: Callable[[Row], CliResult], row: Row) -> None:
    assert_documented_failure(run_row(row), row)
