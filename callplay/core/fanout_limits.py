"""The knobs of a run over many calls (--concurrency, --rate): their defaults, their ranges and their checks.

A module of their own, standard library only, so that the CLI can put them in --help without importing the
core (callplay.core.fanout imports the config, the ledger and the providers: half a second of start-up).
"""

from __future__ import annotations

import math

from callplay.errors import UsageError
from callplay.values import check_count

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 256  # threads, each with its own SDK client and connection
RATE_RANGE = (0.01, 10_000.0)  # requests per second `--rate` takes, besides NO_RATE_LIMIT
NO_RATE_LIMIT = 0.0  # --rate 0: no pacing at all; only --concurrency (and a provider's Retry-After) holds it back


def check_knobs(concurrency: int, rate: float | None) -> None:
    """--concurrency and --rate in range (None: the provider's default rate), before anything is sent."""
    check_count(concurrency, "--concurrency", minimum=1, maximum=MAX_CONCURRENCY)
    if rate is None or rate == NO_RATE_LIMIT:
        return
    lo, hi = RATE_RANGE
    if not (math.isfinite(rate) and lo <= rate <= hi):
        raise UsageError(
            f"--rate {rate:g}/s is out of range",
            f"give requests per second from {lo:g} to {hi:g}, or {NO_RATE_LIMIT:g} for no limit",
        )
