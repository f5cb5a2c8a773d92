"""Where convert and `validate-audio --fix` write each copy, and the run that writes them.

`validate-audio --fix --out DIR` writes a complete, deployable set per target: DIR/TARGET/ holds every local
file checked, at its relative path: the ones that pass copied as they are, the failing ones converted (as
NAME.wav), and each written file checked again. A file that no conversion fixes (all-silent, empty,
unreadable) is not written; its FixResult says so, and the run still exits 7.

Planning is pure Python (paths only); numpy and soundfile load when convert_copies starts converting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from callplay.errors import UsageError

if TYPE_CHECKING:
    from callplay.audio.inputs import Source
    from callplay.audio.report import FileResult, FixResult, ValidationReport
    from callplay.audio.rules import AudioSettings


class Copy(NamedTuple):
    """One file to write: the input, the provider it is for, and where the copy goes."""

    source: Source
    target: str
    dest: str


@dataclass
class Processing:
    """What a conversion does beyond the target's format: the same for every target of one run."""

    normalize: bool = False
    peak_dbfs: float | None = None  # None: just under the target's max_peak_dbfs
    trim: bool = False
    encoding: str = "pcm16"


def plan(sources: list[Source], targets: list[str], out: Path | None, in_place: bool) -> list[Copy]:
    """A copy of each file for each target; name clashes get the source extension kept (a.mp3.wav)."""
    remote = [s.uri for s in sources if s.kind != "file"]
    if remote:
        raise UsageError(f"cannot convert remote sources ({remote[0]})", "download the file and convert it locally")
    if in_place and out is not None:
        raise UsageError("--in-place and --out together", "pick one: --out DIR writes copies, --in-place replaces")
    if not in_place and out is None:
        raise UsageError("--out DIR is required", "e.g. --out fixed/ (or --in-place to replace the sources)")
    copies: list[Copy] = []
    for t in targets:
        sub = t if len(targets) > 1 else ""
        dests = [_dest(_rel(s, in_place), os.path.dirname(s.uri) if in_place else str(out), sub) for s in sources]
        clashing = {d for d in dests if dests.count(d) > 1} if len(set(dests)) < len(dests) else set()
        for s, dest in zip(sources, dests, strict=True):
            if dest in clashing and not s.uri.lower().endswith(".wav"):
                dest = os.path.join(os.path.dirname(dest), os.path.basename(s.uri) + ".wav")  # a.mp3 -> a.mp3.wav
            _refuse_overwrite(s.uri, dest, in_place)
            copies.append(Copy(s, t, dest))
    return copies


def _dest(rel: str, out_dir: str, sub: str) -> str:
    stem = os.path.splitext(rel)[0]
    return os.path.join(out_dir, sub, stem + ".wav") if sub else os.path.join(out_dir, stem + ".wav")


def _rel(s: Source, in_place: bool) -> str:
    return os.path.basename(s.uri) if in_place else s.rel


def _refuse_overwrite(src: str, dest: str, in_place: bool) -> None:
    if not in_place and os.path.exists(dest) and os.path.samefile(src, dest):
        raise UsageError(f"{dest} would overwrite its source", "choose another --out, or pass --in-place")


def convert_copies(copies: list[Copy], settings: AudioSettings, processing: Processing, jobs: int) -> list[FixResult]:
    """Write every planned copy, one target at a time (jobs 0: all cores); results in plan order per target."""
    from callplay.audio.convert import ConvertOptions, convert_many
    from callplay.audio.validate import default_jobs

    results: list[FixResult] = []
    for target in dict.fromkeys(c.target for c in copies):
        opts = ConvertOptions(
            target=target,
            settings=settings,
            normalize=processing.normalize,
            peak_dbfs=processing.peak_dbfs,
            trim=processing.trim,
            encoding=processing.encoding,
        )
        todo = [(c.source.uri, c.dest, c.source.uri) for c in copies if c.target == target]
        results += convert_many(todo, opts, jobs or default_jobs())
    return results


# ------------------------------------------------------------------------------------ validate-audio --fix


class _SetPlan(NamedTuple):
    converts: list[Copy]
    copies: list[Copy]
    not_fixable: list[tuple[FileResult, str]]


def fix_set(
    report: ValidationReport, out: Path, settings: AudioSettings, processing: Processing, jobs: int
) -> list[FixResult]:
    """Write the complete set for each target of the report into out/<target>/ (see the module docstring)."""
    plan_ = _plan_set(report, out)  # every destination worked out (and refused) before anything is written
    fixes = convert_copies(plan_.converts, settings, processing, jobs)
    fixes += _copy_all(plan_.copies, settings, jobs)
    fixes += [_not_fixable(r, t, report.strict) for r, t in plan_.not_fixable]
    return fixes


def _plan_set(report: ValidationReport, out: Path) -> _SetPlan:
    local = [r for r in report.results if r.kind == "file"]  # URLs and S3 objects are not ours to deploy
    result = _SetPlan([], [], [])
    for t in report.targets:
        folder = out / t
        failing = [r for r in local if r.verdict(t, report.strict) == "fail"]
        result.not_fixable.extend((r, t) for r in failing if r.blocking(t, report.strict))
        failing_ids = {id(r) for r in failing}
        passing = [r for r in local if id(r) not in failing_ids]
        copies = [Copy(_source(r), t, os.path.join(folder, _source(r).rel)) for r in passing]
        converting = [_source(r) for r in failing if not r.blocking(t, report.strict)]
        taken = {c.dest for c in copies}
        for c in plan(converting, [t], folder, False):
            if c.dest in taken:  # a.mp3 converted beside a.wav copied: a.mp3.wav
                c = c._replace(dest=os.path.join(str(folder), c.source.rel + ".wav"))
            result.converts.append(c)
        for c in copies:
            _refuse_overwrite(c.source.uri, c.dest, False)
        result.copies.extend(copies)
    _refuse_collisions(result.copies + result.converts)
    return result


def _refuse_collisions(copies: list[Copy]) -> None:
    """Two inputs bound for one file (prompts/en/hi.wav and prompts/fr/hi.wav named one by one, which keep only
    their base names): refused before anything is written, rather than one silently replacing the other."""
    seen: dict[str, str] = {}
    for c in copies:
        other = seen.setdefault(os.path.normpath(c.dest), c.source.uri)
        if other != c.source.uri:
            raise UsageError(
                f"{other} and {c.source.uri} would both be written to {c.dest}",
                "give the folder they are in (validate-audio prompts/ ...), so that the set keeps their relative paths",
            )


def _source(r: FileResult) -> Source:
    from callplay.audio.inputs import Source

    return Source("file", r.source, r.rel or os.path.basename(r.source), r.base)


def _copy_all(copies: list[Copy], settings: AudioSettings, jobs: int) -> list[FixResult]:
    """Copy the passing files byte for byte, then check every copy again for its target (in parallel)."""
    from callplay.audio.inputs import Source
    from callplay.audio.report import FixResult
    from callplay.audio.validate import CheckOptions, check_sources

    fixes: list[FixResult] = []
    for target in dict.fromkeys(c.target for c in copies):
        done: list[Copy] = []
        for c in (c for c in copies if c.target == target):
            error = _copy_file(c.source.uri, c.dest)
            if error:
                fixes.append(FixResult(c.source.uri, None, target, [], None, error, action="copied"))
            else:
                done.append(c)
        dests = [Source("file", c.dest, c.source.rel) for c in done]
        checks = check_sources(dests, CheckOptions([target], settings), jobs or None, progress=False)
        for c, check in zip(done, checks, strict=True):
            fixes.append(FixResult(c.source.uri, c.dest, target, ["copied as it is"], check, action="copied"))
    return fixes


def _copy_file(src: str, dest: str) -> str | None:
    """Whole or not at all, through callplay.fileio; the reason when it cannot be written."""
    import shutil

    from callplay.fileio import open_output

    try:
        os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        with open(src, "rb") as f, open_output(dest) as stream:
            shutil.copyfileobj(f, stream)
    except OSError as exc:
        return f"cannot copy to {dest}: {exc.strerror or exc}"
    return None


def _not_fixable(r: FileResult, target: str, strict: bool) -> FixResult:
    from callplay.audio.report import FixResult

    blocker = r.blocking(target, strict)[0]
    error = f"not fixable by conversion ({blocker.rule}): {blocker.fix}"
    return FixResult(r.source, None, target, [], None, error, action="not fixable")
