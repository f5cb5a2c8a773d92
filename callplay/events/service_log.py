"""The event receiver's log when it runs as a service (`events listen --log-format json`).

One JSON object per line on stderr, for a log collector: `time` (ISO 8601, UTC), `level`, `event` (`ready`,
`received`, `refused`, `recorded`, `unhealthy`, `stopping`, `stopped`, `server` for uvicorn's own lines),
`message`, and whichever of `provider`, `control_id`, `call_id`, `type`, `state`, `status`, `reason`,
`method`, `path`, `duration_ms` and `request_id` the line has. `request_id` is the load balancer's
X-Request-ID when it sent a sane one, else one callplay makes; the receiver echoes it in its answer.

Never a secret: every string goes through callplay.redact (query tokens in URLs masked, and each secret the
listener holds replaced wherever it appears). Text format (the default) is the log as it always was: the
warnings only, one plain line each.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from callplay.redact import redact

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
# The loggers a service's log is made of: callplay's receiver, and uvicorn's errors (bad HTTP, and the like).
SERVICE_LOGGERS = ("callplay.events", "uvicorn.error")
# The fields a record may carry (logging's `extra=`), in the order they are written.
FIELDS = (
    "provider",
    "control_id",
    "call_id",
    "type",
    "state",
    "status",
    "reason",
    "method",
    "path",
    "duration_ms",
    "host",
    "port",
    "paths",
    "received",
    "rejected",
)
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("callplay_request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a longer or odd X-Request-ID is replaced, not logged


def request_id(given: str | None) -> str:
    """The id of one request: the caller's X-Request-ID when it is a plain short token, else a new one."""
    if given and _SANE_ID.fullmatch(given):
        return given
    return secrets.token_hex(8)


class JsonFormatter(logging.Formatter):
    def __init__(self, known: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.known = known  # the secrets the listener holds: never written, wherever they turn up

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or ("server" if record.name.startswith("uvicorn") else "log"),
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        rid = REQUEST_ID.get()
        if rid is not None:
            line["request_id"] = rid
        if record.exc_info and record.exc_info[1] is not None:  # the kind of error, never a traceback
            line["error"] = type(record.exc_info[1]).__name__
        return json.dumps(redact(line, self.known), ensure_ascii=False, default=str)


@contextmanager
def installed(log_format: LogFormat, known: frozenset[str] = frozenset()) -> Iterator[None]:
    """For the length of a `with`: JSON lines on stderr from the service's loggers (json), or the log as
    before (text: nothing changes). Everything is put back after, for an in-process caller."""
    if log_format != "json":
        yield
        return
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(known))
    saved = []
    for name in SERVICE_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.level, logger.propagate))
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False  # not also as text through uvicorn's or the root's handlers
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
