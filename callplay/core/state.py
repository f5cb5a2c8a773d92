"""`callplay state info` and `state migrate`: the ledger's backend, place, schema version and rows."""

from __future__ import annotations

from callplay import migrations
from callplay.ledger import Ledger
from callplay.model import StateInfo


def state_info(*, migrate: bool = False) -> StateInfo:
    """What the ledger state_url names holds; with `migrate`, after bringing its schema up to date (info
    alone changes nothing, so that it can show a ledger that is behind)."""
    ledger = Ledger.default(migrate=False)
    applied = ledger.migrate() if migrate else None
    return StateInfo(
        backend=ledger.backend.name,
        location=ledger.where,
        schema_version=ledger.schema_version(),
        latest_version=migrations.LATEST,
        counts=ledger.counts(),
        migrated=applied,
    )
