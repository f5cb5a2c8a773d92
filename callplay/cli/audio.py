"""validate-audio and convert: check prompts against each provider's rules, and write compliant copies.

Import cost: only typer and callplay's light modules here. numpy/soundfile load inside the commands (and never
for `validate-audio --quick`); httpx and boto3 only when a URL or s3:// input is given.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run, skip_teardown
from callplay.errors import CallplayError, ExitCode, UsageError

if TYPE_CHECKING:
    from callplay.audio.report import FixResult, ValidationReport
    from callplay.audio.rules import AudioSettings
    from callplay.audio.sources import Source

InputsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Files, directories (recursive), - (a list on stdin), http(s) URLs, s3://bucket/key or "
        "s3://bucket/prefix/.",
        show_default=False,
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        "-t",
        help="acs, signalwire, vonage, chime, several (acs,chime) or all. Default: the provider of --profile.",
    ),
]
IncludeOpt = Annotated[
    list[str] | None,
    typer.Option("--include", help="Glob for files found in directories (repeatable; default: audio extensions)."),
]
ExcludeOpt = Annotated[
    list[str] | None, typer.Option("--exclude", help="Glob of files/directories to skip (repeatable).")
]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (default 0: all cores).")]
NormalizeOpt = Annotated[
    bool, typer.Option("--normalize", help="Scale the peak to --peak-dbfs (default: just under max_peak_dbfs, -1).")
]
PeakOpt = Annotated[float | None, typer.Option("--peak-dbfs", help="Peak for --normalize and the headroom ceiling.")]
TrimOpt = Annotated[bool, typer.Option("--trim", help="Trim leading/trailing silence (relative to the file's level).")]
FORMATS = ("table", "json", "junit", "github")


# ------------------------------------------------------------------------------------------------ helpers


def resolve_targets(targets: str | None, profile: str | None) -> list[str]:
    from callplay.audio import TARGETS
    from callplay.audio.rules import parse_targets

    if targets:
        found = parse_targets([targets])
        if found:
            return found
    try:
        from callplay.config import provider_of_profile
    except ImportError:
        raise UsageError("no --target given", "pass --target acs|signalwire|vonage|chime|all") from None
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


def _pick_format(fmt: str | None, output: str) -> str:
    if fmt is None:
        if output not in ("table", "json"):
            raise UsageError(f"unknown output format {output!r}", "use --output table or --output json")
        return output
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    return fmt


def _plain_error(err: CallplayError, github: bool) -> NoReturn:
    """Errors for --format junit/github, printed without rich: the same two lines as output.render_error."""
    if github:
        print(f"::error title={err.code}::{err.message}", flush=True)
    print(f"error: {err.message}" + (f"\nhint: {err.hint}" if err.hint else ""), file=sys.stderr)
    raise typer.Exit(int(err.exit_code))


def _write_report(path: Path | None, rep: ValidationReport) -> None:
    if path is None:
        return
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(rep.junit(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write --report {path}: {exc.strerror or exc}", "check the directory") from None


def _dest(rel: str, out_dir: str, sub: str) -> str:
    stem = os.path.splitext(rel)[0]
    return os.path.join(out_dir, sub, stem + ".wav") if sub else os.path.join(out_dir, stem + ".wav")


def plan(sources: list[Source], targets: list[str], out: Path | None, in_place: bool) -> list[tuple[Source, str, str]]:
    """(source, target, destination) for each file; name clashes get the source extension kept (a.mp3.wav)."""
    remote = [s.uri for s in sources if s.kind != "file"]
    if remote:
        raise UsageError(f"cannot convert remote sources ({remote[0]})", "download the file and convert it locally")
    if in_place and out is not None:
        raise UsageError("--in-place and --out together", "pick one: --out DIR writes copies, --in-place replaces")
    if not in_place and out is None:
        raise UsageError("--out DIR is required", "e.g. --out fixed/ (or --in-place to replace the sources)")
    plans: list[tuple[Source, str, str]] = []
    for t in targets:
        sub = t if len(targets) > 1 else ""
        dests = [_dest(_rel(s, in_place), os.path.dirname(s.uri) if in_place else str(out), sub) for s in sources]
        clashing = {d for d in dests if dests.count(d) > 1} if len(set(dests)) < len(dests) else set()
        for s, dest in zip(sources, dests, strict=True):
            if dest in clashing and not s.uri.lower().endswith(".wav"):
                dest = os.path.join(os.path.dirname(dest), os.path.basename(s.uri) + ".wav")  # a.mp3 -> a.mp3.wav
            _refuse_overwrite(s.uri, dest, in_place)
            plans.append((s, t, dest))
    return plans


def _rel(s: Source, in_place: bool) -> str:
    return os.path.basename(s.uri) if in_place else s.rel


def _refuse_overwrite(src: str, dest: str, in_place: bool) -> None:
    if not in_place and os.path.exists(dest) and os.path.samefile(src, dest):
        raise UsageError(f"{dest} would overwrite its source", "choose another --out, or pass --in-place")


def _convert(plans: list[tuple[Source, str, str]], settings: AudioSettings, jobs: int, **kw: Any) -> list[FixResult]:
    from callplay.audio.convert import ConvertOptions, convert_many
    from callplay.audio.validate import default_jobs

    results: list[FixResult] = []
    for target in dict.fromkeys(t for _, t, _ in plans):
        opts = ConvertOptions(target=target, settings=settings, **kw)
        todo = [(s.uri, dest, s.uri) for s, t, dest in plans if t == target]
        results += convert_many(todo, opts, jobs or default_jobs())
    return results


# ---------------------------------------------------------------------------------------------- commands


def _validate_work(
    inputs: list[str] | None,
    target: str | None,
    profile: str | None,
    *,
    quick: bool,
    strict: bool,
    include: list[str] | None,
    exclude: list[str] | None,
    jobs: int,
    ignore: str | None,
    quiet: bool,
    fix: bool,
    out: Path | None,
    convert_kw: dict[str, Any],
) -> ValidationReport:
    from callplay.audio.sources import collect
    from callplay.audio.validate import CheckOptions, validate

    if not inputs:
        raise UsageError("nothing to check", "give files, directories, URLs, s3:// objects, or - for a list on stdin")
    if fix and out is None:
        raise UsageError("--fix needs --out DIR", "e.g. validate-audio prompts/ --fix --out fixed/")
    targets = resolve_targets(target, profile)
    settings = load_settings(ignore)
    sources = collect(inputs, include, exclude)
    if not sources:
        print("warning: no audio files found (see --include/--exclude)", file=sys.stderr)
    report = validate(sources, CheckOptions(targets, settings, quick), strict=strict, jobs=jobs or None, quiet=quiet)
    if fix:
        report.fixes = _fix(report, targets, out, settings, jobs, convert_kw)
    return report


def _fix(
    report: ValidationReport,
    targets: list[str],
    out: Path | None,
    settings: AudioSettings,
    jobs: int,
    convert_kw: dict[str, Any],
) -> list[FixResult]:
    """Convert each local file that fails a target, for that target (into out/<target>/ when several)."""
    from callplay.audio.sources import Source

    failing = {(r.source, t) for r in report.results for t in targets if r.verdict(t, report.strict) == "fail"}
    files = [r for r in report.results if r.kind == "file" and any((r.source, t) in failing for t in targets)]
    sources = [Source("file", r.source, r.rel or os.path.basename(r.source), r.base) for r in files]
    plans = [p for p in plan(sources, targets, out, False) if (p[0].uri, p[1]) in failing]
    return _convert(plans, settings, jobs, **convert_kw)


def register(app: typer.Typer) -> None:
    @app.command("validate-audio")
    def validate_audio(
        inputs: InputsArg = None,
        target: TargetOpt = None,
        profile: ProfileOpt = None,
        quick: Annotated[bool, typer.Option("--quick", help="Header checks only (no decoding): fastest.")] = False,
        strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 7).")] = False,
        include: IncludeOpt = None,
        exclude: ExcludeOpt = None,
        fmt: Annotated[str | None, typer.Option("--format", help="table, json, junit or github (annotations).")] = None,
        report: Annotated[Path | None, typer.Option("--report", help="Also write a JUnit XML report here.")] = None,
        output: OutputOpt = "table",
        jobs: JobsOpt = 0,
        ignore: Annotated[str | None, typer.Option("--ignore", help="Rule IDs to skip, comma-separated.")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Table: only files with findings.")] = False,
        fix: Annotated[bool, typer.Option("--fix", help="Write compliant copies of failing files to --out.")] = False,
        out: Annotated[Path | None, typer.Option("--out", help="Directory for --fix copies.")] = None,
        normalize: Annotated[bool, typer.Option("--normalize", help="--fix: also normalise the peak.")] = False,
        trim: TrimOpt = False,
    ) -> None:
        """Check audio files against each provider's rules (exit 7 when any fails). For CI: --format github,
        or --format junit --report FILE."""
        skip_teardown()
        convert_kw = {"normalize": normalize, "trim": trim}

        def work() -> ValidationReport:
            rep = _validate_work(
                inputs,
                target,
                profile,
                quick=quick,
                strict=strict,
                include=include,
                exclude=exclude,
                jobs=jobs,
                ignore=ignore,
                quiet=quiet,
                fix=fix,
                out=out,
                convert_kw=convert_kw,
            )
            _write_report(report, rep)
            return rep

        try:
            chosen = _pick_format(fmt, output)
        except UsageError as err:
            _plain_error(err, False)
        if chosen in ("table", "json") or (chosen == "junit" and report is not None):
            run("validate-audio", output if chosen == "junit" else chosen, work)
        _plain_run(work, chosen)

    @app.command("convert")
    def convert(
        inputs: InputsArg = None,
        target: TargetOpt = None,
        profile: ProfileOpt = None,
        out: Annotated[Path | None, typer.Option("--out", help="Directory to write the WAV copies to.")] = None,
        in_place: Annotated[bool, typer.Option("--in-place", help="Replace each source (as NAME.wav).")] = False,
        normalize: NormalizeOpt = False,
        peak_dbfs: PeakOpt = None,
        trim: TrimOpt = False,
        encoding: Annotated[str, typer.Option("--encoding", help="pcm16, or ulaw (signalwire only).")] = "pcm16",
        include: IncludeOpt = None,
        exclude: ExcludeOpt = None,
        output: OutputOpt = "table",
        jobs: JobsOpt = 0,
    ) -> None:
        """Write a copy each target plays: acs/vonage 16 kHz, chime/signalwire 8 kHz, mono 16-bit PCM WAV.
        The copy is checked again; exit 7 if any still fails (silence or unreadable input cannot be fixed)."""
        skip_teardown()

        def work() -> Any:
            import time

            from callplay.audio.report import ConvertReport
            from callplay.audio.sources import collect

            start = time.perf_counter()
            if not inputs:
                raise UsageError("nothing to convert", "give files or directories")
            targets = resolve_targets(target, profile)
            _check_encoding(encoding, targets)
            settings = load_settings()
            plans = plan(collect(inputs, include, exclude), targets, out, in_place)
            fixes = _convert(
                plans, settings, jobs, normalize=normalize, peak_dbfs=peak_dbfs, trim=trim, encoding=encoding
            )
            return ConvertReport(fixes, time.perf_counter() - start)

        run("convert", output, work)


def _check_encoding(encoding: str, targets: list[str]) -> None:
    if encoding not in ("pcm16", "ulaw"):
        raise UsageError(f"unknown --encoding {encoding!r}", "use pcm16 or ulaw")
    if encoding == "ulaw" and targets != ["signalwire"]:
        raise UsageError("--encoding ulaw is for --target signalwire only", "the other providers need 16-bit PCM")


def _plain_run(work: Any, fmt: str) -> NoReturn:
    """--format github, or junit on stdout: print without rich and exit with the report's code."""
    github = fmt == "github"
    try:
        rep = work()
    except CallplayError as err:
        _plain_error(err, github)
    except KeyboardInterrupt:
        _plain_error(CallplayError("interrupted", code="interrupted", exit_code=ExitCode.INTERRUPTED), github)
    except Exception as exc:  # a bug: one line and exit 1, like cli/options.run (traceback with CALLPLAY_DEBUG=1)
        if os.environ.get("CALLPLAY_DEBUG") == "1":
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        bug = CallplayError(
            f"unexpected error: {type(exc).__name__}: {first}".rstrip(": "),
            "run again with CALLPLAY_DEBUG=1 for the traceback, and report it",
            code="unexpected",
        )
        _plain_error(bug, github)
    sys.stdout.write(rep.github() if github else rep.junit())
    sys.stdout.flush()
    if rep.failure is not None:
        print(f"error: {rep.failure.message}\nhint: {rep.failure.hint}", file=sys.stderr)
    raise typer.Exit(rep.exit_code)
