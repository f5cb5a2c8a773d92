"""Where convert and `validate-audio --fix` write each copy, and the run that writes them.

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
    from callplay.audio.report import FixResult
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
