"""profiles check: one harmless authenticated read per provider, through its SDK, against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

PROFILES = ["emulator-acs", "emulator-signalwire", "emulator-vonage", "emulator-chime"]


@pytest.mark.parametrize("profile", PROFILES)
def test_check_passes_on_each_emulator_profile(config_file: Path, profile: str) -> None:
    data = run_cli("profiles", "check", profile, "-o", "json").data()
    assert data["ok"] is True
    assert data["reachable"] is True and data["authenticated"] is True
    assert data["failed_step"] is None and data["step"]


def test_check_table_output(config_file: Path) -> None:
    result = run_cli("profiles", "check", "emulator-acs")
    assert result.exit_code == 0, result.stderr
    assert "authenticated" in result.stdout and "yes" in result.stdout


# A wrong secret from the environment (CALLPLAY_<SETTING> overrides the file): the provider refuses it.
WRONG = {
    "emulator-acs": {"CALLPLAY_ACCESS_KEY": "d3Jvbmcta2V5LW5vdC10aGUtZW11bGF0b3Jz"},
    "emulator-signalwire": {"CALLPLAY_TOKEN": "PTwrong-token"},
    "emulator-chime": {"CALLPLAY_AWS_SECRET_ACCESS_KEY": "wrong-secret-access-key"},
}


@pytest.mark.parametrize("profile", sorted(WRONG))
def test_wrong_key_is_rejected_with_the_failing_step(config_file: Path, profile: str) -> None:
    result = run_cli("profiles", "check", profile, "-o", "json", env=WRONG[profile])
    assert result.exit_code == 5, result.stderr
    envelope = result.json()
    assert envelope["ok"] is False
    data = envelope["data"]
    assert data["reachable"] is True and data["authenticated"] is False
    assert data["failed_step"] == "authenticated read"
    assert "error: " in result.stderr and "hint: " in result.stderr
    for secret in WRONG[profile].values():
        assert secret not in result.stdout + result.stderr


def test_unreachable_provider_exits_6(config_file: Path) -> None:
    text = config_file.read_text()
    import re

    port_free = "http://127.0.0.1:9"  # discard port: nothing listens
    text = re.sub(r'(\[profiles\.emulator-acs\][^\[]*?endpoint = ")[^"]*"', rf'\g<1>{port_free}"', text, flags=re.S)
    config_file.write_text(text)
    result = run_cli("profiles", "check", "emulator-acs", "-o", "json", env={"CALLPLAY_RETRIES": "0"})
    assert result.exit_code == 6, result.stderr
    data = result.json()["data"]
    assert data["reachable"] is False and data["failed_step"] == "reach the provider"


def test_unknown_profile_is_a_config_error(config_file: Path) -> None:
    result = run_cli("profiles", "check", "no-such-profile")
    assert result.exit_code == 3
    assert "error: unknown profile" in result.stderr and "hint: " in result.stderr


@pytest.mark.parametrize(
    "argv", [("profiles", "check", "-p", "emulator-vonage"), ("-p", "emulator-vonage", "profiles", "check")]
)
def test_the_profile_can_be_named_with_p_as_on_every_command(config_file: Path, argv: tuple[str, ...]) -> None:
    data = run_cli(*argv, "-o", "json").data()
    assert (data["profile"], data["provider"], data["ok"]) == ("emulator-vonage", "vonage", True)
