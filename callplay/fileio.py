"""Writing a file the user named (--report, --out, --write-config, convert's copies, the emulator's keys).

A regular file, or a path that does not exist yet, is written whole or not at all: into a temporary file in
the same folder (so the rename cannot cross file systems), then `os.replace`d over the path; the temporary
file is removed on every failure, Ctrl-C included. Anything else that exists (a FIFO, a character device,
`/dev/stdout`) and `-` is written through, never replaced: replacing a FIFO with a regular file, or
`/dev/stdout` with one (as root), breaks the pipeline that named it.

Standard library (and callplay.errors) only: convert's workers and `validate-audio --report` import it.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from callplay.errors import UsageError

STDOUT = "-"
SECRET_MODE = 0o600
# The process's own descriptors under another name: written through the descriptor we already hold, since
# opening the name again would start a second file offset at 0 (over what is already there when stdout is a
# file) and os.replace would swap the /dev entry itself.
_FD_ALIAS = re.compile(r"/dev/(?:std(?P<std>out|err)|fd/(?P<fd>\d+))|/proc/(?:self|thread-self)/fd/(?P<pfd>\d+)")
_TEMP_NAME_MAX = 200  # of the path's own name in the temporary file's: leave room under NAME_MAX (255)
_NOCTTY = getattr(os, "O_NOCTTY", 0)  # POSIX only
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, secret: bool = False) -> None:
    """Write `data` to `path` as described in the module docstring; OSError on failure."""
    with open_output(path, secret=secret) as stream:
        stream.write(data)


@contextmanager
def open_output(path: str | os.PathLike[str], *, secret: bool = False) -> Iterator[BinaryIO]:
    """A binary stream whose contents become `path` when the block ends without an exception.

    `secret`: the file is mode 0600 (a replaced file keeps its own mode otherwise; a new one gets 0666 less
    the umask). Raises IsADirectoryError for a directory and OSError for what cannot be written.
    """
    name = os.fspath(path)
    fd = _descriptor(name)
    if fd is not None:
        with _through_descriptor(fd) as stream:
            yield stream
        return
    try:
        st: os.stat_result | None = os.stat(name)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # No O_CREAT: should the FIFO or device vanish meanwhile, fail rather than leave a regular file there.
        with os.fdopen(os.open(name, os.O_WRONLY | _NOCTTY | _CLOEXEC), "wb") as stream:
            yield stream
        return
    mode = SECRET_MODE if secret else (stat.S_IMODE(st.st_mode) if st is not None else None)
    with _replacing(Path(os.path.realpath(name)), mode) as stream:  # through a symlink: the file it names
        yield stream


def _descriptor(name: str) -> int | None:
    """The process's own descriptor that `name` stands for (`-` is standard output), or None."""
    if name == STDOUT:
        return 1
    match = _FD_ALIAS.fullmatch(os.path.abspath(name))
    if match is None:
        return None
    if match["std"]:
        return 1 if match["std"] == "out" else 2
    return int(match["fd"] or match["pfd"])


@contextmanager
def _through_descriptor(fd: int) -> Iterator[BinaryIO]:
    """Standard output and error through sys.stdout/sys.stderr (what is buffered there goes first, and an
    in-process caller's replacements are honoured); another descriptor through a copy, left open."""
    if fd in (1, 2):
        text = sys.stdout if fd == 1 else sys.stderr
        text.flush()
        yield text.buffer
        text.buffer.flush()
        return
    with os.fdopen(os.dup(fd), "wb") as stream:
        yield stream


@contextmanager
def _replacing(final: Path, mode: int | None) -> Iterator[BinaryIO]:
    fd, temp = _create_temp(final, mode)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
        os.replace(temp, final)
    except BaseException:  # Ctrl-C and SIGTERM too: never leave the temporary file behind
        with suppress(OSError):
            os.unlink(temp)
        raise


def _create_temp(final: Path, mode: int | None) -> tuple[int, Path]:
    """A new file beside `final`, with a name nobody else has (O_EXCL), readable only as `mode` allows.

    Not tempfile.mkstemp: its 0600 would have to be widened to the umask's mode, and a process can read its
    umask only by changing it, which races every other thread that creates a file meanwhile.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC
    for _ in range(100):
        temp = final.with_name(f".{final.name[:_TEMP_NAME_MAX]}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, flags, SECRET_MODE if mode == SECRET_MODE else 0o666)
        except FileExistsError:
            continue
        try:
            if mode is not None:
                os.chmod(temp, mode)  # exactly: the umask may have taken bits from a 0600 or a kept mode
        except BaseException:
            os.close(fd)
            os.unlink(temp)
            raise
        return fd, temp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(final.parent))


# ------------------------------------------------------------------------------- for command-line options


def write_output(path: str | os.PathLike[str], data: bytes, *, option: str, example: str, secret: bool = False) -> None:
    """write_bytes for a path given on the command line: a failure is a usage error (exit 2) naming it.

    `option` is how the user gave the path (`--report`), `example` a file name to suggest (`report.xml`).
    """
    try:
        write_bytes(path, data, secret=secret)
    except OSError as exc:
        raise output_error(path, exc, option=option, example=example) from None


def check_output(path: str | os.PathLike[str], *, option: str, example: str) -> None:
    """Fail early (before the work) on what write_output would certainly refuse: a directory, no folder."""
    name = os.fspath(path)
    if _descriptor(name) is not None:
        return
    if os.path.isdir(name):
        raise output_error(path, IsADirectoryError(errno.EISDIR, "Is a directory"), option=option, example=example)
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(folder):
        missing = FileNotFoundError(errno.ENOENT, "No such file or directory")
        raise output_error(path, missing, option=option, example=example)


def output_error(path: str | os.PathLike[str], exc: OSError, *, option: str, example: str) -> UsageError:
    """The usage error for an output path that cannot be written, with what to do about it."""
    name = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(name)) or "/"
    if isinstance(exc, IsADirectoryError) or os.path.isdir(name):
        return UsageError(
            f"{option} {name} is a directory", f"give a file name, e.g. {option} {os.path.join(name, example)}"
        )
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT and not os.path.isdir(folder):
        hint = f"the folder {folder} does not exist: create it, or choose another path"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"the folder {folder} is not writable here: choose another path for {option}"
    else:
        hint = f"choose another path for {option}, or `-` for standard output"
    return UsageError(f"cannot write {option} {name}: {reason}", hint)
