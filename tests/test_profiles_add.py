"""profiles add writes one profile and keeps the rest of the file; profiles list says what it read and
flags the profiles that would not load (issue 12, item 6)."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
SECRET = "c2VjcmV0LW5vdC10by1iZS1wcmludGVk"  # base64, as an ACS access key is

HAND_WRITTEN = """\
# callplay profiles for the ops team
default_profile = "prod"   # the usual one

[profiles.prod]   # production ACS
provider = "acs"
endpoint = "https://contoso.communication.azure.com"  # the prod resource
voice = "en-US-JennyNeural"
# the key comes from the environment
access_key_env = "ACS_ACCESS_KEY"

# SignalWire, for the night shift
[profiles.night]
provider = "signalwire"
space = "example.signalwire.com"
project = "p"
token_env = "SW_TOKEN"

[audio]   # thresholds
max_peak_dbfs = -1.0
"""


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The hand-written config above, world-readable (as an editor leaves it), active for the test."""
    path = tmp_path / "callplay.toml"
    path.write_text(HAND_WRITTEN)
    path.chmod(0o644)
    monkeypatch.setenv("CALLPLAY_CONFIG", str(path))
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_update_changes_only_its_own_table_and_keeps_its_other_keys(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "add", "prod", "--set", "voice=en-GB-RyanNeural", "--set", "timeout=20")
    assert result.exit_code == 0, result.stderr
    expected = HAND_WRITTEN.replace('voice = "en-US-JennyNeural"', 'voice = "en-GB-RyanNeural"').replace(
        'access_key_env = "ACS_ACCESS_KEY"\n', 'access_key_env = "ACS_ACCESS_KEY"\ntimeout = 20.0\n'
    )
    assert cfg.read_text() == expected  # the new key before the comment that introduces [profiles.night]
    assert mode(cfg) == 0o600


def test_a_new_profile_is_added_after_the_others_and_nothing_else_moves(cli: Cli, cfg: Path) -> None:
    argv = ("--set", "application_id=app", "--set", "private_key_env=VONAGE_KEY", "--set", "style=3")
    result = cli("profiles", "add", "voice", "--provider", "vonage", *argv, "--set", "premium=yes")
    assert result.exit_code == 0, result.stderr
    new_table = (
        '\n[profiles.voice]\nprovider = "vonage"\napplication_id = "app"\nprivate_key_env = "VONAGE_KEY"\n'
        "style = 3\npremium = true\n"
    )
    night_end = 'token_env = "SW_TOKEN"\n'
    assert cfg.read_text() == HAND_WRITTEN.replace(night_end, night_end + new_table)
    # Typed as the model types them: an int stays an int, yes is a boolean.
    assert tomllib.loads(cfg.read_text())["profiles"]["voice"]["style"] == 3
    assert mode(cfg) == 0o600


def test_the_written_profile_loads(cli: Cli, cfg: Path) -> None:
    assert cli("profiles", "add", "sw", "--provider", "signalwire", "--set", "space=x.signalwire.com",
               "--set", "project=p", "--set", "token_env=SW_TOKEN").exit_code == 0  # fmt: skip
    shown = cli("profiles", "show", "sw", "-o", "json", env={"SW_TOKEN": "t"}).data()
    assert {v["name"]: v["source"] for v in shown["values"]}["token"] == "env:SW_TOKEN"


def test_a_new_file_and_its_folder_are_private(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "config.toml"
    result = cli("profiles", "add", "p", "--provider", "acs", "--set", "endpoint=https://x.example.com",
                 env={"CALLPLAY_CONFIG": str(path)})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert mode(path) == 0o600 and mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
    assert tomllib.loads(path.read_text()) == {
        "profiles": {"p": {"provider": "acs", "endpoint": "https://x.example.com"}}
    }


def test_the_platform_config_is_written_when_callplay_config_is_unset(cli: Cli, tmp_path: Path) -> None:
    result = cli("profiles", "add", "p", "--provider", "acs", "-o", "json")
    path = tmp_path / "xdg-config" / "callplay" / "config.toml"  # conftest's XDG_CONFIG_HOME
    assert result.data()["source"] == str(path) and path.exists()


def test_an_unknown_key_is_refused_with_the_valid_ones_listed(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "add", "prod", "--set", "colour=red")
    assert result.exit_code == 2
    assert "unknown setting 'colour' for acs" in result.stderr
    assert "endpoint, access_key, connection_string" in result.stderr  # the model's own order
    assert cfg.read_text() == HAND_WRITTEN and mode(cfg) == 0o644


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("--set", "timeout=soon"), "timeout: 'soon'"),  # not a number
        (("--set", "timeout=0"), "timeout: Input should be greater than 0"),  # a number the model refuses
        (("--set", "endpoint=ftp://example.com"), "endpoint:"),  # the model's own validator
        (("--set", "access_key_env=not a name"), "not an environment variable name"),
    ],
)
def test_a_bad_value_is_exit_3_and_nothing_is_written(cli: Cli, cfg: Path, argv: tuple[str, ...], words: str) -> None:
    before = cfg.stat().st_mtime_ns
    result = cli("profiles", "add", "prod", *argv)
    assert result.exit_code == 3, result.stderr
    assert words in result.stderr and "hint:" in result.stderr
    assert cfg.read_text() == HAND_WRITTEN and cfg.stat().st_mtime_ns == before and mode(cfg) == 0o644


def test_a_missing_required_setting_is_exit_3(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "add", "sw", "--provider", "signalwire", "--set", "space=x.signalwire.com")
    assert result.exit_code == 3 and "project: Field required" in result.stderr
    assert "--set project=VALUE" in result.stderr
    assert cfg.read_text() == HAND_WRITTEN


def test_a_file_that_is_not_toml_is_left_alone(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[profiles.a\nprovider = 'acs'\n")
    result = cli("profiles", "add", "b", "--provider", "acs", env={"CALLPLAY_CONFIG": str(path)})
    assert result.exit_code == 3 and str(path) in result.stderr
    assert path.read_text() == "[profiles.a\nprovider = 'acs'\n"


def test_from_env_reads_the_environment_and_never_prints_the_secret(cli: Cli, cfg: Path) -> None:
    env = {"CALLPLAY_ENDPOINT": "https://fabrikam.communication.azure.com", "CALLPLAY_ACCESS_KEY": SECRET}
    for output in ("table", "json"):
        result = cli("profiles", "add", "fab", "--provider", "acs", "--from-env", "-o", output, env=env)
        assert result.exit_code == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr and SECRET[:8] not in result.stdout + result.stderr
    values = {v["name"]: v for v in result.json()["data"]["values"]}
    assert values["access_key"] == {"name": "access_key", "value": "**** (set)", "source": "env:CALLPLAY_ACCESS_KEY",
                                    "secret": True}  # fmt: skip
    assert values["endpoint"]["source"] == "env:CALLPLAY_ENDPOINT"
    assert result.stderr == ""  # no shell-history warning: the secret never was on the command line
    written = tomllib.loads(cfg.read_text())["profiles"]["fab"]
    assert written == {"provider": "acs", "endpoint": env["CALLPLAY_ENDPOINT"], "access_key": SECRET}
    assert mode(cfg) == 0o600  # the secret in it is read (config.py reads secrets only from a 0600 file)


def test_a_secret_given_with_set_is_masked_and_warned_about(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "add", "prod", "--set", f"access_key={SECRET}")
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "shell history" in result.stderr and "CALLPLAY_ACCESS_KEY" in result.stderr
    # The key replaces access_key_env: one setting, one source.
    assert tomllib.loads(cfg.read_text())["profiles"]["prod"]["access_key"] == SECRET
    assert "access_key_env" not in tomllib.loads(cfg.read_text())["profiles"]["prod"]


def test_from_env_with_nothing_set_is_a_usage_error(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "add", "x", "--provider", "chime", "--from-env")
    assert result.exit_code == 2 and "CALLPLAY_REGION" in result.stderr
    assert cfg.read_text() == HAND_WRITTEN


def test_set_wins_over_from_env(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "add", "prod", "--from-env", "--set", "voice=flag-voice", env={"CALLPLAY_VOICE": "env"})
    assert result.exit_code == 0, result.stderr
    assert tomllib.loads(cfg.read_text())["profiles"]["prod"]["voice"] == "flag-voice"


def test_unset_removes_a_key(cli: Cli, cfg: Path) -> None:
    assert cli("profiles", "add", "prod", "--unset", "voice").exit_code == 0
    assert cfg.read_text() == HAND_WRITTEN.replace('voice = "en-US-JennyNeural"\n', "")


def test_changing_the_provider_needs_replace(cli: Cli, cfg: Path) -> None:
    argv = ("profiles", "add", "prod", "--provider", "chime", "--set", "sip_media_application_id=sma")
    refused = cli(*argv)
    assert refused.exit_code == 2 and "--replace" in refused.stderr
    assert cfg.read_text() == HAND_WRITTEN
    assert cli(*argv, "--replace").exit_code == 0
    assert tomllib.loads(cfg.read_text())["profiles"]["prod"] == {
        "provider": "chime",
        "sip_media_application_id": "sma",
    }
    assert cfg.read_text().startswith("# callplay profiles for the ops team\n")


def test_default(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "one.toml"
    path.write_text('[profiles.first]\nprovider = "acs"\n')
    monkeypatch.setenv("CALLPLAY_CONFIG", str(path))
    # The only profile is the default without a word; a second one must not take that away.
    assert cli("profiles", "add", "second", "--provider", "acs", "-o", "json").data()["is_default"] is False
    assert tomllib.loads(path.read_text())["default_profile"] == "first"
    assert cli("profiles", "add", "second", "--default", "-o", "json").data()["is_default"] is True
    assert tomllib.loads(path.read_text())["default_profile"] == "second"


def test_a_new_profile_needs_a_provider(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "add", "new", "--set", "voice=x")
    assert result.exit_code == 2 and "--provider" in result.stderr


def test_a_layout_tomlkit_cannot_extend_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "dotted.toml"
    text = 'profiles.a.provider = "acs"\nprofiles.a.voice = "x"\n'
    path.write_text(text)
    result = cli("profiles", "add", "b", "--provider", "acs", env={"CALLPLAY_CONFIG": str(path)})
    assert result.exit_code == 3 and "[profiles.b]" in result.stderr
    assert path.read_text() == text


# ------------------------------------------------------------------------------------------ profiles list


def test_list_flags_an_invalid_profile_and_names_the_file(cli: Cli, cfg: Path) -> None:
    with cfg.open("a") as fh:
        fh.write('\n[profiles.typo]\nprovider = "acs"\nendpiont = "https://x"\n\n[profiles.old]\nprovider = "twilio"\n')
    result = cli("profiles", "list", "-o", "json", env={"SW_TOKEN": "t"})
    assert result.exit_code == 3
    envelope = result.json()
    assert envelope["ok"] is False and envelope["data"]["config_path"] == str(cfg)
    rows = {p["name"]: p for p in envelope["data"]["profiles"]}
    assert set(rows) == {"demo", "prod", "night", "typo", "old"}  # all listed, valid or not
    assert rows["prod"]["valid"] is True and rows["prod"]["problem"] is None
    assert rows["typo"]["valid"] is False and "unknown setting(s) endpiont" in rows["typo"]["problem"]
    assert rows["old"]["problem"] == "unknown provider 'twilio'"
    table = cli("profiles", "list", env={"SW_TOKEN": "t", "COLUMNS": "200"})
    assert table.exit_code == 3
    assert str(cfg) in table.stdout and "problem" in table.stdout and "unknown provider 'twilio'" in table.stdout
    assert "profile typo:" in table.stderr and "profile old:" in table.stderr


def test_list_flags_a_missing_required_setting(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "list", "-o", "json")  # SW_TOKEN unset: night cannot load
    assert result.exit_code == 3
    rows = {p["name"]: p for p in result.json()["data"]["profiles"]}
    assert rows["night"]["problem"] == "token: Field required"
    assert "SW_TOKEN" in result.stderr  # the warning says which variable is missing


def test_list_of_valid_profiles_exits_0_without_a_problem_column(cli: Cli, cfg: Path) -> None:
    result = cli("profiles", "list", env={"SW_TOKEN": "t", "ACS_ACCESS_KEY": "a2V5"})
    assert result.exit_code == 0, result.stderr
    assert "problem" not in result.stdout and f"config: {cfg}" in result.stdout


def test_list_without_a_config_says_where_it_looked(cli: Cli, tmp_path: Path) -> None:
    result = cli("profiles", "list")
    looked = tmp_path / "xdg-config" / "callplay" / "config.toml"
    assert result.exit_code == 0
    assert str(looked) in result.stdout and "demo" in result.stdout
    data = cli("profiles", "list", "-o", "json").data()
    assert data["config_path"] is None and data["looked_at"] == str(looked)
    assert [p["name"] for p in data["profiles"]] == ["demo"] and data["profiles"][0]["valid"] is True


def test_list_flags_a_default_that_is_not_a_profile(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('default_profile = "nope"\n[profiles.a]\nprovider = "acs"\n')
    result = cli("profiles", "list", env={"CALLPLAY_CONFIG": str(path)})
    assert result.exit_code == 3 and "default_profile 'nope' is not a profile" in result.stderr


def test_nothing_is_left_beside_the_config(cli: Cli, cfg: Path) -> None:
    cli("profiles", "add", "prod", "--set", "timeout=soon")
    cli("profiles", "add", "prod", "--set", "timeout=5")
    assert sorted(os.listdir(cfg.parent)) == [cfg.name]  # no temporary file from either run


def test_profiles_added_at_once_are_all_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provisioning script adding profiles in parallel: each `profiles add` reads, changes and writes the file
    under one lock, so none writes over another's profile; the folder they all create at once is no error."""
    import threading

    from callplay.core.profiles import ProfileEdit, add_profile

    path = tmp_path / "new" / "folder" / "callplay.toml"
    monkeypatch.setenv("CALLPLAY_CONFIG", str(path))
    names = [f"bridge-{i}" for i in range(12)]
    start, failures = threading.Barrier(len(names)), []
    settings = (("space", "example.signalwire.com"), ("project", "p"), ("token_env", "SW_TOKEN"))

    def add(name: str) -> None:
        start.wait()
        try:
            add_profile(ProfileEdit(name=name, provider="signalwire", settings=settings))
        except Exception as exc:  # every failure is reported, whatever it is
            failures.append(exc)

    threads = [threading.Thread(target=add, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(tomllib.loads(path.read_text())["profiles"]) == sorted(names)
    assert mode(path.parent) == 0o700 and mode(path) == 0o600
