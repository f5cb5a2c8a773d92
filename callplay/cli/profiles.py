"""profiles list / show / check / add: where each setting comes from (secrets masked), and writing one."""

# No `from __future__ import annotations` in the command modules: see callplay/cli/play.py.

from typing import TYPE_CHECKING, Annotated

import typer

from callplay.cli.options import OutputOpt, ProfileOpt, run
from callplay.providers import names_text

if TYPE_CHECKING:
    from callplay.core.profiles import ProfileEdit

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


@profiles_app.command("add")
def add_profile(
    name: Annotated[str, typer.Argument(help="The profile to write or update.")],
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help=f"{names_text()}. Needed for a new profile; to change an existing one's, add --replace.",
            metavar="PROVIDER",
        ),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A setting (repeatable), typed as the provider takes it. A secret given here lands in your "
            "shell history: use --from-env, or --set SETTING_env=VARIABLE to read it at run time.",
            metavar="KEY=VALUE",
        ),
    ] = None,
    from_env: Annotated[
        bool,
        typer.Option(
            "--from-env",
            help="Take each of the provider's settings from CALLPLAY_<SETTING> where that is set (not kept in "
            "shell history); --set wins over it.",
        ),
    ] = False,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", help="Remove a setting from the profile (repeatable).", metavar="KEY")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Write the profile afresh, dropping its current settings.")
    ] = False,
    default: Annotated[bool, typer.Option("--default", help="Make it the default profile.")] = False,
    output: OutputOpt = "table",
) -> None:
    """Write or update one profile in the config file; the other profiles and the comments stay as they are.

    The file (CALLPLAY_CONFIG, or the platform's config.toml) is created if there is none, and written with
    mode 0600. Nothing is written unless the profile validates: an unknown setting exits 2 and lists the
    valid ones; a value of the wrong type, or a profile that would not load, exits 3. Secrets are masked in
    what it prints. Adding a second profile to a file with one keeps the first as the default.
    """
    from callplay.core.profiles import add_profile as add

    run("profiles add", output, lambda: add(_edit(name, provider, settings, unset, from_env, replace, default)))


def _edit(
    name: str,
    provider: str | None,
    settings: list[str] | None,
    unset: list[str] | None,
    from_env: bool,
    replace: bool,
    default: bool,
) -> "ProfileEdit":
    from callplay.core.profiles import ProfileEdit
    from callplay.errors import UsageError

    pairs = []
    for item in settings or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--set {item!r} has no '='", "write --set KEY=VALUE, e.g. --set timeout=20")
        if not key.strip():
            raise UsageError(f"--set {item!r} has no key before '='", "write --set KEY=VALUE, e.g. --set timeout=20")
        pairs.append((key.strip(), value))
    if provider is not None and not provider.strip():
        raise UsageError("--provider is empty", f"give one of: {names_text()}")
    return ProfileEdit(name, provider, tuple(pairs), tuple(unset or ()), from_env, replace, default)


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")
