"""validate-audio and convert as use cases: the CLI builds one request and calls one function here.

Import cost: nothing heavy at import. numpy/soundfile load only when files are decoded (never for
`validate-audio --quick`), callplay.config only when a config file exists, httpx/boto3 only for remote inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callplay import paths
from callplay.audio.plan import Processing, convert_copies, fix_set, plan
from callplay.errors import UsageError
from callplay.providers import PROVIDER_NAMES, names_text, provider_facts

if TYPE_CHECKING:
    from callplay.audio.report import ConvertReport, ValidationReport
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
    report: Path | None = None  # a JUnit XML file to write as well (missing folders are created)
    missing: str = "skip"  # a path listed on stdin that does not exist: skip (with a note) or error


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
        raise UsageError("--fix needs --out: the folder to write the fixed set to", "e.g. --fix --out fixed/")
    check_missing(request.missing)
    if request.report is not None:  # before the work: a directory or an uncreatable folder is known now
        check_report(request.report)
    targets = resolve_targets(request.target, request.profile)
    settings = load_settings(request.ignore)
    skipped: list[str] = []
    sources = collect(request.inputs, request.include, request.exclude, missing=request.missing, skipped=skipped)
    if skipped:
        warn(_skipped_note(skipped))
    if not sources:
        warn("no audio files found (see --include/--exclude)")
    checks = CheckOptions(targets, settings, request.quick)
    report = validate(sources, checks, strict=request.strict, jobs=request.jobs or None, quiet=request.quiet)
    report.skipped = skipped
    if request.fix and request.out is not None:
        report.fixes = fix_set(report, request.out, settings, request.processing, request.jobs)
    if request.report is not None:
        write_junit(request.report, report)
    return report


def check_missing(missing: str) -> None:
    from callplay.audio.inputs import MISSING_CHOICES

    if missing not in MISSING_CHOICES:
        raise UsageError(f"unknown --missing {missing!r}", f"use --missing {' or '.join(MISSING_CHOICES)}")


def _skipped_note(skipped: list[str]) -> str:
    shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
    return (
        f"skipped {len(skipped)} path(s) listed on stdin that no longer exist: {shown} (--missing error fails on them)"
    )


def check_report(path: Path) -> None:
    """A --report path that can certainly not be written is exit 2 before the work; a folder that does not
    exist yet is fine when it can be created (write_junit creates it: CI's reports/sub/x.xml)."""
    from callplay.fileio import check_output, output_error

    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder) or not folder:
        check_output(path, option="--report", example="report.xml")
        return
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        import errno

        reason = errno.ENOTDIR if not os.path.isdir(existing) else errno.EACCES
        exc = OSError(reason, f"cannot create the folder {folder} under {existing}")
        raise output_error(path, exc, option="--report", example="report.xml")


def write_junit(path: Path, report: ValidationReport) -> None:
    """--report FILE: the JUnit XML, whole or not at all (a FIFO or /dev/stdout is written through); missing
    folders are created with the default mode."""
    from callplay.fileio import output_error, write_output

    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc, option="--report", example="report.xml") from None
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
    no config file exists there is no [audio] table to read, so we look first, through callplay.paths as
    callplay.config does. An explicit path is returned as given: callplay.config reads it (and expands it,
    and tells what is wrong with it).
    """
    explicit = paths.env_path("CONFIG")
    if explicit is not None:
        return explicit, True
    return paths.config_path(None), False


def _audio_table() -> dict[str, Any]:
    path, explicit = config_file_guess()
    if not explicit and not path.exists():
        return {}
    try:
        from callplay.config import audio_settings
    except ImportError:  # config not available: defaults
        return {}
    return audio_settings()
