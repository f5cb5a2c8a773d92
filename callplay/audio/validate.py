"""Check many files fast: forked workers over size-balanced chunks of files, remote sources on threads.

Per-process start-up is the cost to beat (about 0.1 s for numpy alone), so there is one process per core, the
parent being one of them, each task is a chunk of many files, and workers are forked before numpy is imported
so that every process imports it at the same time. `--quick` stays in this process (unless the tree is huge)
and never imports numpy or soundfile: header parsing takes microseconds a file.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callplay.audio.inputs import Fetched, Source, fetch_s3, fetch_url
from callplay.audio.probe import Probe, probe_file
from callplay.audio.report import FileResult, ValidationReport
from callplay.audio.rules import AudioSettings, SourceKind, check

if TYPE_CHECKING:  # concurrent.futures.process costs 15 ms to import: only when a pool is used
    from concurrent.futures import ProcessPoolExecutor

    from callplay.audio.stats import SampleStats

POOL_MIN_FILES = 12  # below this (or this many MB) a pool costs more than it saves
POOL_MIN_BYTES = 8 * 1024 * 1024
CHUNKS_PER_WORKER = 32  # small chunks: the last one to finish sets the wall time
REMOTE_THREADS = 8


@dataclass(frozen=True)
class CheckOptions:
    targets: list[str]
    settings: AudioSettings
    quick: bool = False


# ------------------------------------------------------------------------------------------- one source


def check_path(path: str, opts: CheckOptions, display: str | None = None) -> FileResult:
    """Probe (and unless quick, measure) one local file and apply the rules."""
    name = display or path
    try:
        with open(path, "rb", buffering=0) as f:  # raw: one read syscall, no buffer to fill
            probe = probe_file(f, os.fstat(f.fileno()).st_size, name)
            stats = _measure(f, probe, opts, path)
    except OSError as exc:
        probe, stats = Probe(name=name, error=f"cannot read: {exc.strerror or exc}"), None
    findings = check(probe, stats, opts.targets, opts.settings)
    return FileResult(name, "file", probe, stats, findings)


def _measure(src: Any, probe: Probe, opts: CheckOptions, path: str | None = None) -> SampleStats | None:
    if opts.quick or not probe.decodable:
        return None
    from callplay.audio.measure import measure

    return measure(src, probe, opts.settings.silence_threshold_db, path)


def check_remote(src: Source, opts: CheckOptions) -> FileResult:
    max_bytes = int(opts.settings.max_fetch_mb * 1024 * 1024)
    if src.kind == "url":
        got = fetch_url(src.uri, opts.settings.fetch_timeout_s, max_bytes)
    else:
        got = fetch_s3(src.uri, max_bytes)
    try:
        return _check_fetched(src, got, opts)
    finally:
        got.close()


def _check_fetched(src: Source, got: Fetched, opts: CheckOptions) -> FileResult:
    kind: SourceKind = "url" if src.kind == "url" else "s3"
    if got.file is None:
        probe = Probe(name=src.uri, size_bytes=got.size, content_type=got.content_type, error=got.error)
        from callplay.audio.rules import Finding, apply_overrides

        fix = "check the URL, its permissions and the server"
        findings = [Finding("fetch", "error", got.error or "fetch failed", fix, t) for t in opts.targets]
        return FileResult(src.uri, kind, probe, None, apply_overrides(findings, opts.settings), src.rel, src.base)
    probe = probe_file(got.file, got.size, src.uri)
    probe.content_type = got.content_type
    stats = _measure(got.file, probe, opts)
    findings = check(probe, stats, opts.targets, opts.settings, source_kind=kind)
    return FileResult(src.uri, kind, probe, stats, findings, src.rel, src.base)


# ------------------------------------------------------------------------------------------------- many


def _check_chunk(items: list[tuple[int, str]], opts: CheckOptions) -> list[tuple[int, FileResult]]:
    return [(i, check_path(path, opts)) for i, path in items]


def _size(s: Source) -> int:
    if s.size >= 0:
        return s.size
    try:
        return os.stat(s.uri).st_size
    except OSError:
        return 0


def _chunks(sources: list[Source], jobs: int) -> list[list[tuple[int, str]]]:
    """Size-balanced chunks: biggest files dealt round-robin first, so no chunk ends up with all of them."""
    sizes = [_size(s) for s in sources]
    order = sorted(range(len(sources)), key=lambda i: -sizes[i])
    n = max(1, min(len(sources), jobs * CHUNKS_PER_WORKER))
    chunks: list[list[tuple[int, str]]] = [[] for _ in range(n)]
    for k, i in enumerate(order):
        chunks[k % n].append((i, sources[i].uri))
    return chunks


def _pool(jobs: int) -> ProcessPoolExecutor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: the cheapest start (spawn would re-import callplay, typer and all in each worker); it is the
    # default on Linux, and elsewhere we keep the platform's safe default.
    method = "fork" if sys.platform.startswith("linux") else None
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method), initializer=gc.enable)


def default_jobs() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _limit_blas_threads() -> None:
    # One BLAS thread: we use none of BLAS, and threads started before fork() are a hazard.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _import_decoders(quick: bool) -> None:
    """numpy and soundfile, for the full check. Called after the workers are forked, so that they import them
    at the same time as the parent (about 0.1 s) instead of waiting for the parent to finish first."""
    if quick:
        return
    _limit_blas_threads()
    import soundfile  # noqa: F401

    import callplay.audio.measure  # noqa: F401


def check_sources(
    sources: list[Source], opts: CheckOptions, jobs: int | None = None, progress: bool = True
) -> list[FileResult]:
    """Results in the order of `sources`. Workers are forked (all chunks submitted) before the progress bar
    or any fetching thread starts: fork() with other threads running is asking for deadlocks."""
    jobs = jobs or default_jobs()
    local = [s for s in sources if s.kind == "file"]
    remote = [s for s in sources if s.kind != "file"]
    results: dict[str, FileResult] = {}
    use_pool = jobs > 1 and _worth_a_pool(local, opts)
    if use_pool:
        _limit_blas_threads()
    # The parent is a worker too: jobs-1 forked processes take chunks from the front, the parent from the back
    # (cancelling futures no worker has picked up yet), so no core idles and half the results need no pickling.
    chunks = _chunks(local, jobs) if use_pool else []
    with _maybe_pool(jobs - 1 if use_pool else 0) as pool:
        futures = [pool.submit(_check_chunk, c, opts) for c in chunks] if pool else []
        if local:
            _import_decoders(opts.quick)
        with _progress(len(sources) if progress else 0, "checking audio") as advance:
            results.update(_run_remote(remote, opts, advance))

            def store(done: list[tuple[int, FileResult]]) -> None:
                for i, res in done:
                    results[local[i].uri] = res
                advance(len(done))

            if pool is None:
                store(_check_chunk([(i, s.uri) for i, s in enumerate(local)], opts))
            for fut, chunk in zip(reversed(futures), reversed(chunks), strict=True):
                if not fut.cancel():
                    break
                store(_check_chunk(chunk, opts))
            for fut in _as_completed([f for f in futures if not f.cancelled()]):
                store(fut.result())
    for s in local:
        results[s.uri].rel, results[s.uri].base = s.rel, s.base
    return [results[s.uri] for s in sources]


def _as_completed(futures: list[Any]) -> Any:
    if not futures:
        return []
    from concurrent.futures import as_completed

    return as_completed(futures)


def _worth_a_pool(local: list[Source], opts: CheckOptions) -> bool:
    if opts.quick:
        return len(local) >= 4000  # header parsing: only very large trees amortise the fork
    return len(local) >= POOL_MIN_FILES or sum(_size(s) for s in local) >= POOL_MIN_BYTES


@contextmanager
def _maybe_pool(jobs: int) -> Iterator[ProcessPoolExecutor | None]:
    if jobs < 1:
        yield None
        return
    pool = _pool(jobs)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_remote(remote: list[Source], opts: CheckOptions, advance: Callable[[int], None]) -> dict[str, FileResult]:
    if not remote:
        return {}
    from concurrent.futures import ThreadPoolExecutor, as_completed

    out: dict[str, FileResult] = {}
    with ThreadPoolExecutor(max_workers=min(REMOTE_THREADS, len(remote))) as tp:
        futs = {tp.submit(check_remote, s, opts): s for s in remote}
        for fut in as_completed(futs):
            out[futs[fut].uri] = fut.result()
            advance(1)
    return out


def validate(
    sources: list[Source],
    opts: CheckOptions,
    *,
    strict: bool = False,
    jobs: int | None = None,
    quiet: bool = False,
    progress: bool = True,
) -> ValidationReport:
    start = time.perf_counter()
    with _gc_paused():
        results = check_sources(sources, opts, jobs, progress)
        return ValidationReport(
            opts.targets, results, quick=opts.quick, strict=strict, elapsed_s=time.perf_counter() - start, quiet=quiet
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Every probe, finding and result made here lives until the report is printed, so the collector's passes
    over them free nothing; they were a tenth of `--quick` on 2,000 files. Reference counting still frees
    everything that is dropped (sample buffers included); forked workers turn the collector back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """output.progress (rich) only when stderr is a terminal and the run is long enough to watch."""
    if total < 20 or not sys.stderr.isatty():
        yield lambda n: None
        return
    from callplay.output import progress

    with progress(total, label) as bar:
        yield bar.advance
