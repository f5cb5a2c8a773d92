"""Profiles: precedence, secrets (env or a 0600 file only), masking, and the errors a user meets."""

from __future__ import annotations

from pathlib import Path

import pytest

from callplay.config import resolve_profile
from callplay.errors import ConfigError
from tests.conftest import run_cli

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_no_config_gives_the_demo_profile() -> None:
    profile = resolve_profile(None)
    assert profile.name == "demo" and profile.provider == "acs" and profile.get("endpoint") == "embedded"


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path, f'[profiles.a]\nprovider = "acs"\nendpoint = "https://file"\naccess_key = "{KEY}"\n')
    monkeypatch.setenv("CALLPLAY_CONFIG", str(cfg))
    p = resolve_profile("a")
    assert (p.get("endpoint"), p.sources["endpoint"]) == ("https://file", f"file:{cfg}")
    assert p.sources["timeout"] == "default"
    monkeypatch.setenv("CALLPLAY_ENDPOINT", "https://env")
    p = resolve_profile("a")
    assert (p.get("endpoint"), p.sources["endpoint"]) == ("https://env", "env:CALLPLAY_ENDPOINT")
    p = resolve_profile("a", {"endpoint": "https://flag"})
    assert (p.get("endpoint"), p.sources["endpoint"]) == ("https://flag", "flag")


def test_secret_from_named_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path, '[profiles.a]\nprovider = "acs"\nendpoint = "https://x"\naccess_key_env = "MY_ACS_KEY"\n')
    monkeypatch.setenv("CALLPLAY_CONFIG", str(cfg))
    monkeypatch.setenv("MY_ACS_KEY", KEY)
    p = resolve_profile("a")
    assert p.get("access_key") == KEY and p.sources["access_key"] == "env:MY_ACS_KEY"


def test_secret_in_a_world_readable_file_is_ignored_with_a_warning(tmp_path: Path) -> None:
    cfg = write(tmp_path, f'[profiles.a]\nprovider = "acs"\nendpoint = "https://x"\naccess_key = "{KEY}"\n', 0o644)
    result = run_cli("play", "c1", "--tts", "hi", env={"CALLPLAY_CONFIG": str(cfg)})
    assert result.exit_code == 3
    assert "chmod 600" in result.stderr
    assert KEY not in result.stderr + result.stdout


def test_profiles_show_masks_secrets_and_says_where_values_come_from(tmp_path: Path) -> None:
    cfg = write(tmp_path, f'[profiles.a]\nprovider = "acs"\nendpoint = "https://x"\naccess_key = "{KEY}"\n')
    result = run_cli("profiles", "show", "a", "-o", "json", env={"CALLPLAY_CONFIG": str(cfg)})
    assert result.exit_code == 0, result.stderr
    values = {v["name"]: v for v in result.json()["data"]["values"]}
    assert values["access_key"]["value"] == "**** (set)" and values["access_key"]["secret"] is True
    assert values["endpoint"]["source"] == f"file:{cfg}"
    assert KEY not in result.stdout and KEY[:8] not in result.stdout
    table = run_cli("profiles", "show", "a", env={"CALLPLAY_CONFIG": str(cfg)})
    assert KEY not in table.stdout and "****" in table.stdout


def test_profiles_list_includes_demo_and_default(tmp_path: Path) -> None:
    cfg = write(
        tmp_path, 'default_profile = "b"\n[profiles.a]\nprovider = "acs"\n[profiles.b]\nprovider = "signalwire"\n'
    )
    data = run_cli("profiles", "list", "-o", "json", env={"CALLPLAY_CONFIG": str(cfg)}).json()["data"]
    assert {p["name"]: p["default"] for p in data["profiles"]} == {"a": False, "b": True, "demo": False}


def test_malformed_config_names_file_and_line(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[profiles.a]\nprovider = "acs"\nendpoint = \n')
    result = run_cli("play", "c1", "--tts", "hi", env={"CALLPLAY_CONFIG": str(cfg)})
    assert result.exit_code == 3
    assert str(cfg) in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[profiles.prod]\nprovider = "acs"\n')
    result = run_cli("play", "c1", "--tts", "hi", "-p", "prdo", env={"CALLPLAY_CONFIG": str(cfg)})
    assert result.exit_code == 3
    assert "unknown profile 'prdo'" in result.stderr and "demo, prod" in result.stderr


def test_unknown_provider_and_unknown_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPLAY_CONFIG", str(write(tmp_path, '[profiles.a]\nprovider = "twilio"\n')))
    with pytest.raises(ConfigError, match="unknown provider 'twilio'") as exc:
        resolve_profile("a")
    assert exc.value.hint == "valid providers: acs, signalwire, vonage, chime"  # registry order
    monkeypatch.setenv("CALLPLAY_CONFIG", str(write(tmp_path, '[profiles.a]\nprovider = "acs"\nendpiont = "x"\n')))
    with pytest.raises(ConfigError, match="unknown setting"):
        resolve_profile("a")


def test_several_profiles_without_default_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CALLPLAY_CONFIG", str(write(tmp_path, '[profiles.a]\nprovider = "acs"\n[profiles.b]\nprovider = "acs"\n'))
    )
    with pytest.raises(ConfigError, match="no default_profile"):
        resolve_profile(None)


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    result = run_cli("profiles", "list", env={"CALLPLAY_CONFIG": str(tmp_path / "missing.toml")})
    assert result.exit_code == 3 and "does not exist" in result.stderr
