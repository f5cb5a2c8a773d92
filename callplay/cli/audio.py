"""validate-audio and convert: parse the options into one request, call callplay.audio.commands once.

Import cost: only typer and callplay's light modules here. numpy/soundfile load inside the commands (and never
for `validate-audio --quick`); httpx and boto3 only when a URL or s3:// input is given.
"""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from callplay.audio.inputs import MISSING_CHOICES
from callplay.cli.options import OutputOpt, ProfileOpt, run, skip_teardown
from callplay.errors import UsageError
from callplay.providers import PROVIDER_NAMES, names_text

if TYPE_CHECKING:
    from callplay.audio.report import ConvertReport, ValidationReport

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
        help=f"{names_text()}, several ({PROVIDER_NAMES[0]},{PROVIDER_NAMES[-1]}) or all. "
        "Default: the provider of --profile.",
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

MAX_JOBS = 1024  # more worker processes than any machine has cores: a typo, and a pool that large fails to start
# --peak-dbfs: 0 dBFS is full scale; below the `silent` rule's default floor (-60) the copy would fail as silent.
PEAK_DBFS_RANGE = (-60.0, 0.0)


def _expanded(path: Path | None, option: str) -> Path | None:
    """`--out=~/fixed` reaches us unexpanded (a shell expands ~ only at the start of a word)."""
    from callplay.values import expand_path

    return None if path is None else expand_path(str(path), option)


def _check_numbers(jobs: int, peak_dbfs: float | None = None, target: str | None = None) -> None:
    """Numbers in range before any file is read: a nan or -inf peak would write a silent or garbage copy."""
    from callplay.values import check_count, check_number

    if target is not None and not target.strip(",").strip():  # "" would quietly mean "the profile's provider"
        raise UsageError("--target is empty", f"pass --target {names_text(('all',), '|')}")
    check_count(jobs, "--jobs", maximum=MAX_JOBS, hint=f"give 0 (all cores) up to {MAX_JOBS} worker processes")
    if peak_dbfs is not None:
        check_number(peak_dbfs, "--peak-dbfs", *PEAK_DBFS_RANGE, unit=" dBFS")


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
    fix: Annotated[
        bool,
        typer.Option(
            "--fix", help="Write a complete set per target to --out: failing files converted, the rest copied."
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for --fix (one subfolder per target).")] = None,
    normalize: Annotated[bool, typer.Option("--normalize", help="--fix: also normalise the peak.")] = False,
    trim: TrimOpt = False,
    missing: Annotated[
        str,
        typer.Option(
            "--missing",
            metavar="|".join(MISSING_CHOICES),
            help=f"A path listed on stdin (-) that does not exist: {' or '.join(MISSING_CHOICES)} "
            "(a deleted prompt in a git diff). An argument that does not exist is always an error.",
        ),
    ] = MISSING_CHOICES[0],
) -> None:
    """Check audio files against each provider's rules (exit 7 when any fails). For CI: --format github,
    or --format junit --report FILE."""
    from callplay import output as rendering
    from callplay.audio import commands
    from callplay.audio.plan import Processing

    skip_teardown()
    request = commands.ValidateRequest(
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
        processing=Processing(normalize=normalize, trim=trim),
        report=report,
        missing=missing,
    )

    def work() -> "ValidationReport":
        _check_numbers(jobs, target=target)
        request.out, request.report = _expanded(out, "--out"), _expanded(report, "--report")
        return commands.validate_audio(request, warn=rendering.warn)

    try:
        chosen = rendering.report_format(fmt, output)
    except UsageError as err:
        raise typer.Exit(rendering.plain_error(err, "table")) from None
    if chosen in rendering.OUTPUT_MODES or (chosen == "junit" and report is not None):
        run("validate-audio", output if chosen == "junit" else chosen, work)  # JUnit goes to the --report file
    raise typer.Exit(rendering.render_plain(chosen, work))


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
    from callplay.audio import commands
    from callplay.audio.plan import Processing

    skip_teardown()
    request = commands.ConvertRequest(
        inputs,
        target,
        profile,
        out=out,
        in_place=in_place,
        processing=Processing(normalize=normalize, peak_dbfs=peak_dbfs, trim=trim, encoding=encoding),
        include=include,
        exclude=exclude,
        jobs=jobs,
    )

    def work() -> "ConvertReport":
        _check_numbers(jobs, peak_dbfs, target)
        request.out = _expanded(out, "--out")
        return commands.convert(request)

    run("convert", output, work)


def register(app: typer.Typer) -> None:
    app.command("validate-audio")(validate_audio)
    app.command("convert")(convert)
