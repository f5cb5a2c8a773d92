"""validate-audio and convert as use cases: the CLI builds one request and calls one function here.

Import cost: nothing heavy at import. numpy/soundfile load only when files are decoded (never for
`validate-audio --quick`), callplay.config only when a config file exists, httpx/boto3 only for remote inputs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callplay.audio.plan import Processing, convert_copies, plan
from callplay.errors import UsageError
from callplay.providers import PROVIDER_NAMES, names_text, provider_facts

if TYPE_CHECKING:
    from callplay.audio.report import ConvertReport, FixResult, ValidationReport
    from callplay.audio.rules import AudioSettings


@dataclass
class ValidateRequest:
    """What `validate-audio` was asked to check, and what to do with the result."""

    inputs: list[str] | None
    target: str | None = None  # acs, several (acs,chime) or all; None: the provider of the profile
    profile: str | None = None
    quick: bool = False
    strict: bool = False
    include: list[str] | None = None
    exclude: list[str] | None = None
    jobs: int = 0  # 0: all cores
    ignore: str | None = None  # rule IDs, comma-separated
    quiet: bool = False
    fix: bool = False
    out: Path | None = None  # where --fix writes its copies
    processing: Processing = field(default_factory=Processing)  # for --fix
    report: Path | None = None  # a JUnit XML file to write as well


@dataclass
class ConvertRequest:
    """What `convert` was asked to write."""

    inputs: list[str] | None
    target: str | None = None
    profile: str | None = None
    out: Path | None = None
    in_place: bool = False
    processing: Processing = field(default_factory=Processing)
    include: list[str] | None = None
    exclude: list[str] | None = None
    jobs: int = 0


def validate_audio(request: ValidateRequest, *, warn: Callable[[str], None]) -> ValidationReport:
    """Check the inputs against each target's rules; with fix, convert what fails. `warn` hears about a run
    that found no files before it starts (a person should know at once, not after the table)."""
    from callplay.audio.inputs import collect
    from callplay.audio.validate import CheckOptions, validate

    if not request.inputs:
        raise UsageError("nothing to check", "give files, directories, URLs, s3:// objects, or - for a list on stdin")
    if request.fix and request.out is None:
        raise UsageError("--fix needs --out DIR", "e.g. validate-audio prompts/ --fix --out fixed/")
    if request.report is not None:  # before the work: a directory or a missing folder is known now
        from callplay.fileio import check_output

        check_output(request.report, option="--report", example="report.xml")
    targets = resolve_targets(request.target, request.profile)
    settings = load_settings(request.ignore)
    sources = collect(request.inputs, request.include, request.exclude)
    if not sources:
        warn("no audio files found (see --include/--exclude)")
    checks = CheckOptions(targets, settings, request.quick)
    report = validate(sources, checks, strict=request.strict, jobs=request.jobs or None, quiet=request.quiet)
    if request.fix:
        report.fixes = _fix(report, request, settings)
    if request.report is not None:
        write_junit(request.report, report)
    return report


def _fix(report: ValidationReport, request: ValidateRequest, settings: AudioSettings) -> list[FixResult]:
    """Convert each local file that fails a target, for that target (into out/<target>/ when several)."""
    from callplay.audio.inputs import Source

    targets = report.targets
    failing = {(r.source, t) for r in report.results for t in targets if r.verdict(t, report.strict) == "fail"}
    files = [r for r in report.results if r.kind == "file" and any((r.source, t) in failing for t in targets)]
    sources = [Source("file", r.source, r.rel or os.path.basename(r.source), r.base) for r in files]
    copies = [c for c in plan(sources, targets, request.out, False) if (c.source.uri, c.target) in failing]
    return convert_copies(copies, settings, request.processing, request.jobs)


def write_junit(path: Path, report: ValidationReport) -> None:
    """--report FILE: the JUnit XML, whole or not at all (a FIFO or /dev/stdout is written through)."""
    from callplay.fileio import write_output

    write_output(path, report.junit().encode("utf-8"), option="--report", example="report.xml")


def convert(request: ConvertRequest) -> ConvertReport:
    """Write a copy of each input that each target plays, and check every copy again."""
    import time

    from callplay.audio.inputs import collect
    from callplay.audio.report import ConvertReport

    start = time.perf_counter()
    if not request.inputs:
        raise UsageError("nothing to convert", "give files or directories")
    targets = resolve_targets(request.target, request.profile)
    _check_encoding(request.processing.encoding, targets)
    settings = load_settings()
    copies = plan(collect(request.inputs, request.include, request.exclude), targets, request.out, request.in_place)
    fixes = convert_copies(copies, settings, request.processing, request.jobs)
    return ConvertReport(fixes, time.perf_counter() - start)


def _check_encoding(encoding: str, targets: list[str]) -> None:
    known = list(dict.fromkeys(e for t in PROVIDER_NAMES for e in provider_facts(t).audio.convert_encodings))
    if encoding not in known:
        raise UsageError(f"unknown --encoding {encoding!r}", f"use {' or '.join(known)}")
    refuse = [t for t in targets if encoding not in provider_facts(t).audio.convert_encodings]
    if refuse:
        takers = [t for t in PROVIDER_NAMES if encoding in provider_facts(t).audio.convert_encodings]
        raise UsageError(
            f"--encoding {encoding} is for --target {' or '.join(takers)} only",
            f"{', '.join(refuse)} need{'s' if len(refuse) == 1 else ''} 16-bit PCM (--encoding pcm16)",
        )


# ------------------------------------------------------------------------------------ targets and settings


def resolve_targets(targets: str | None, profile: str | None) -> list[str]:
    """--target as given, else the provider of the profile (which must have audio rules)."""
    from callplay.audio import TARGETS
    from callplay.audio.rules import parse_targets

    if targets:
        found = parse_targets([targets])
        if found:
            return found
    try:
        from callplay.config import provider_of_profile
    except ImportError:
        raise UsageError("no --target given", f"pass --target {names_text(('all',), '|')}") from None
    provider = provider_of_profile(profile)
    if provider not in TARGETS:
        raise UsageError(f"profile provider {provider!r} has no audio rules", f"pass --target ({', '.join(TARGETS)})")
    return [provider]


def load_settings(ignore: str | None = None) -> AudioSettings:
    """The `[audio]` table of the config (thresholds; see docs/validate-audio.md) plus command-line overrides."""
    from dataclasses import replace

    from callplay.audio.rules import RULE_IDS, settings_from_config

    settings = settings_from_config(_audio_table())
    rules = [r.strip() for r in (ignore or "").split(",") if r.strip()]
    bad = [r for r in rules if r not in RULE_IDS]
    if bad:
        valid = ", ".join(sorted(RULE_IDS))
        raise UsageError(f"unknown rule ID(s) for --ignore: {', '.join(bad)}", f"rule IDs: {valid}")
    if rules:
        settings = replace(settings, ignore=settings.ignore | frozenset(rules))
    return settings


def config_file_guess() -> tuple[Path, bool]:
    """Where callplay.config.config_path() will look, and whether CALLPLAY_CONFIG names it explicitly.

    callplay.config imports pydantic-settings (about 0.1 s, a fifth of a --quick run over 2,000 files); when
    no config file exists there is no [audio] table to read, so we look first. This mirrors config_path()
    (tests/audio check that the two agree); anything explicit still goes through callplay.config.
    """
    explicit = next((v for k, v in os.environ.items() if k.upper() == "CALLPLAY_CONFIG" and v), None)
    if explicit:
        return Path(explicit), True
    home = Path.home()
    if sys.platform == "darwin":
        base = home / "Library" / "Application Support" / "callplay"
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or str(home)) / "callplay"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "callplay"
    return base / "config.toml", False


def _audio_table() -> dict[str, Any]:
    path, explicit = config_file_guess()
    if not explicit and not path.exists():
        return {}
    try:
        from callplay.config import audio_settings
    except ImportError:  # config not available: defaults
        return {}
    return audio_settings()
