"""The inputs of validate-audio and convert: files, directories, `-` (a list on stdin), URLs and s3:// objects.

Directories are walked recursively in sorted order. `--include`/`--exclude` are shell globs matched against
the path relative to the directory given and against the base name; `*` also matches `/`. Without
`--include`, files with an audio extension are taken. Files named explicitly are always checked.

Remote sources are fetched exactly as a provider would fetch them (httpx for http(s), boto3 for s3://, both
imported only when such an input is present), streamed into a spooled temporary file with a size limit.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

from callplay.audio import AUDIO_EXTENSIONS
from callplay.errors import UsageError

SPOOL_MAX = 8 * 1024 * 1024  # remote files up to this size stay in memory
# --missing: what a path listed on stdin that does not exist is. `git diff --name-only | validate-audio -` lists
# deleted prompts too, so the default skips them (with a note). A path given as an argument is always a usage
# error: it is a typo in the command, not a deleted file.
MISSING_CHOICES = ("skip", "error")


@dataclass(frozen=True, slots=True)
class Source:
    """One input to check or convert: a local file, a URL or an S3 object."""

    kind: Literal["file", "url", "s3"]
    uri: str  # a path as given (joined with the directory walked), a URL, or s3://bucket/key
    rel: str  # path relative to the directory it was found in (output layout for convert / --fix)
    base: str = ""  # the directory argument it came from ("" for files named directly)
    size: int = -1  # -1: not looked up (a stat per file is wasted on --quick)


# --------------------------------------------------------------------------------------------- collection


def collect(
    inputs: Iterable[str],
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    *,
    missing: str = "error",
    skipped: list[str] | None = None,
) -> list[Source]:
    """Expand the arguments into sources, in order, without duplicates. A missing path is a UsageError, except
    one listed on stdin with missing="skip": that one is appended to `skipped` instead."""
    out: list[Source] = []
    seen: set[str] = set()
    for arg, listed in _expand_stdin(list(inputs)):
        if listed and missing == "skip" and _is_missing(arg):
            if skipped is not None:
                skipped.append(arg)
            continue
        for src in _expand(arg, include or [], exclude or []):
            if src.uri not in seen:
                seen.add(src.uri)
                out.append(src)
    return out


def _is_missing(arg: str) -> bool:
    return "://" not in arg and not os.path.lexists(arg)


def _expand_stdin(args: list[str]) -> Iterator[tuple[str, bool]]:
    """(input, whether it was listed on stdin)."""
    for arg in args:
        if arg != "-":
            yield arg, False
            continue
        for line in sys.stdin.read().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                if line == "-":
                    raise UsageError("'-' inside the list read from stdin", "list paths, directories or URLs")
                yield line, True


def _expand(arg: str, include: list[str], exclude: list[str]) -> Iterator[Source]:
    if arg.startswith(("http://", "https://")):
        yield Source("url", arg, _url_name(arg))
    elif arg.startswith("s3://"):
        yield from _s3_sources(arg, include, exclude)
    elif "://" in arg:
        raise UsageError(f"unsupported input {arg!r}", "give a file, a directory, -, an http(s) URL or s3://bucket/key")
    elif os.path.isdir(arg):
        yield from _walk(arg, include, exclude)
    elif os.path.isfile(arg):
        yield Source("file", arg, os.path.basename(arg))
    else:
        raise UsageError(f"no such file or directory: {arg}", "check the path (or pass - to read a list from stdin)")


def _url_name(url: str) -> str:
    path = url.split("?", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] or "download"


def wanted(rel: str, include: list[str], exclude: list[str]) -> bool:
    base = rel.rsplit("/", 1)[-1]
    if any(fnmatch.fnmatchcase(rel, g) or fnmatch.fnmatchcase(base, g) for g in exclude):
        return False
    if include:
        return any(fnmatch.fnmatchcase(rel, g) or fnmatch.fnmatchcase(base, g) for g in include)
    return base.lower().endswith(AUDIO_EXTENSIONS)


def _walk(root: str, include: list[str], exclude: list[str]) -> Iterator[Source]:
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = sorted(os.scandir(os.path.join(root, rel_dir)), key=lambda e: e.name)
        except OSError as exc:
            raise UsageError(f"cannot list {os.path.join(root, rel_dir)}: {exc.strerror}") from None
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir():
                if not any(fnmatch.fnmatchcase(rel, g) or fnmatch.fnmatchcase(entry.name, g) for g in exclude):
                    subdirs.append(rel)
            elif entry.is_file() and wanted(rel, include, exclude):
                yield Source("file", os.path.join(root, rel), rel, base=root)  # size: only if a pool needs it
        stack.extend(reversed(subdirs))  # depth-first, in name order


# --------------------------------------------------------------------------------------------- fetching


@dataclass
class Fetched:
    """A downloaded object: its bytes in a spooled file, or the reason there are none."""

    file: IO[bytes] | None
    size: int
    content_type: str | None
    error: str | None = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def fetch_url(url: str, timeout: float, max_bytes: int) -> Fetched:
    """GET the URL the way a provider would: follow redirects, stream, stop at max_bytes."""
    import httpx

    try:
        with httpx.stream(
            "GET", url, timeout=timeout, follow_redirects=True, headers={"User-Agent": "callplay-validate-audio"}
        ) as resp:
            ctype = resp.headers.get("content-type")
            if resp.status_code >= 400 or resp.status_code < 200:
                return Fetched(None, 0, ctype, f"HTTP {resp.status_code} {resp.reason_phrase}".strip())
            length = resp.headers.get("content-length")
            if length and length.isdigit() and int(length) > max_bytes:
                return Fetched(None, int(length), ctype, _too_big(int(length), max_bytes))
            return _spool(resp.iter_bytes(), ctype, max_bytes)
    except httpx.TimeoutException:
        return Fetched(None, 0, None, f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return Fetched(None, 0, None, f"{exc.__class__.__name__}: {exc}")


def _too_big(size: int, max_bytes: int) -> str:
    return f"larger than the fetch limit ({size / 1048576:.1f} MB > {max_bytes / 1048576:.0f} MB; max_fetch_mb)"


def _spool(chunks: Iterable[bytes], ctype: str | None, max_bytes: int) -> Fetched:
    import tempfile  # only for remote inputs: its imports cost more than a --quick check of 100 files

    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # noqa: SIM115 - handed to the caller
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            return Fetched(None, size, ctype, _too_big(size, max_bytes))
        spool.write(chunk)
    spool.seek(0)
    return Fetched(spool, size, ctype)


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise UsageError(f"{uri!r} names no bucket", "use s3://bucket/key or s3://bucket/prefix/")
    return bucket, key


_s3_client: Any = None


def s3_client() -> Any:
    """One boto3 S3 client per process: standard credential chain, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL."""
    global _s3_client
    if _s3_client is None:
        import boto3

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        _s3_client = boto3.client("s3", endpoint_url=endpoint)
    return _s3_client


def reset_s3_client() -> None:
    global _s3_client
    _s3_client = None


def _s3_sources(uri: str, include: list[str], exclude: list[str]) -> Iterator[Source]:
    bucket, key = split_s3(uri)
    if key and not key.endswith("/"):
        yield Source("s3", uri, key.rsplit("/", 1)[-1])
        return
    try:  # a prefix: list it like a directory
        pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        for page in pages:
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(key) :]
                if rel and not rel.endswith("/") and wanted(rel, include, exclude):
                    yield Source("s3", f"s3://{bucket}/{obj['Key']}", rel, base=uri, size=obj.get("Size", -1))
    except Exception as exc:  # botocore's errors have no common base worth importing here
        message = f"cannot list {uri}: {_aws_message(exc)}"
        raise UsageError(message, "check the bucket, prefix and credentials") from None


def fetch_s3(uri: str, max_bytes: int) -> Fetched:
    bucket, key = split_s3(uri)
    try:
        obj = s3_client().get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        return Fetched(None, 0, None, _aws_message(exc))
    size = int(obj.get("ContentLength", 0))
    ctype = obj.get("ContentType")
    if size > max_bytes:
        obj["Body"].close()
        return Fetched(None, size, ctype, _too_big(size, max_bytes))
    body = obj["Body"]
    try:
        return _spool(iter(lambda: body.read(1 << 20), b""), ctype, max_bytes)
    except Exception as exc:
        return Fetched(None, 0, ctype, _aws_message(exc))
    finally:
        body.close()


def _aws_message(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code, msg = err.get("Code", ""), err.get("Message", "")
        return " ".join(str(p) for p in (f"HTTP {status}" if status else "", code, msg) if p) or str(exc)
    return f"{exc.__class__.__name__}: {exc}"
