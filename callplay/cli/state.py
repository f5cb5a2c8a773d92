"""state info / state migrate: the ledger (SQLite or PostgreSQL, by state_url) and its schema."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from typing import TYPE_CHECKING

import typer

from callplay.cli.options import OutputOpt, run

if TYPE_CHECKING:
    from callplay.model import StateInfo

state_app = typer.Typer(
    help="callplay's ledger: where it is (state_url, CALLPLAY_STATE_URL) and its schema.", no_args_is_help=True
)


@state_app.command("info")
def info(output: OutputOpt = "table") -> None:
    """Show where the ledger is and what it holds.

    The backend (sqlite or postgresql), where it is (the file, or the URL with any password masked), its
    schema version and its rows per table. It migrates nothing: `state migrate` does.
    """
    from callplay.core.state import state_info

    def work() -> "StateInfo":
        return state_info()

    run("state info", output, work)


@state_app.command("migrate")
def migrate(output: OutputOpt = "table") -> None:
    """Bring the ledger's schema up to date.

    Every command also does this on first use. Safe to run from several machines at once: one migrates, the
    others find it done.
    """
    from callplay.core.state import state_info

    def work() -> "StateInfo":
        return state_info(migrate=True)

    run("state migrate", output, work)


def register(app: typer.Typer) -> None:
    app.add_typer(state_app, name="state")
