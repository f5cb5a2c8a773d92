"""The states a playback ends in: one home, standard library only, so that shell completion
(callplay.complete, which must answer a Tab without importing the model's dataclasses) reads the same set as
callplay.model, which re-exports it, and the ledger."""

from __future__ import annotations

TERMINAL_STATES = frozenset({"finished", "failed", "canceled", "stopped"})
