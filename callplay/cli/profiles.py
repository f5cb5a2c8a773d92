"""profiles list / show: where each setting comes from, secrets masked."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from typing import Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run

profiles_app = typer.Typer(help="Profiles from the config file (and the built-in demo profile).", no_args_is_help=True)


@profiles_app.command("list")
def list_profiles(output: OutputOpt = "table") -> None:
    """List the profiles, their providers and the default."""
    from callplay import config

    run("profiles list", output, config.profile_list)


@profiles_app.command("show")
def show_profile(
    name: Annotated[str | None, typer.Argument(help="Profile name (default: the default profile).")] = None,
    output: OutputOpt = "table",
) -> None:
    """Show a profile's settings and where each value came from; secrets are masked."""
    from callplay import config

    run("profiles show", output, lambda: config.profile_view(name))


@profiles_app.command("check")
def check_profile(
    name: Annotated[str | None, typer.Argument(help="Profile name (default: the default profile).")] = None,
    profile: ProfileOpt = None,
    output: OutputOpt = "table",
) -> None:
    """Prove a profile's credentials with one harmless authenticated read (nothing is created or changed).

    Exit 0 when the provider accepted them, 3 for a profile that does not validate, 5 when the provider
    refused them, 6 when it could not be reached.
    """
    from callplay.core.profiles import check_profile as check

    # -p NAME (as on every other command, and before the subcommand) names the profile too.
    run("profiles check", output, lambda: check(name if name is not None else profile))


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")
