"""No secret in any output (issue 11): every command a user runs on each emulator profile, with the profile's
known secret values (and the callback token callplay mints or is given), prints none of them on stdout or
stderr, in either output mode, and writes none of them into the ledger."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from callplay.config import is_secret
from callplay.core.callbacks import stored_token
from callplay.emulator.app import EmulatorServer
from callplay.providers import PROVIDER_NAMES, provider_class
from callplay.redact import mask_url_secrets, redact
from tests.conftest import CliResult, free_port, run_cli

CONFIGURED_ACS_TOKEN = "configured-acs-callback-token-5f1e"


def secret_values(config_file: Path, state: Path) -> set[str]:
    """Every secret the config holds (the settings each provider marks secret), the private key's body, and
    the tokens callplay minted."""
    found: set[str] = set()
    for table in tomllib.loads(config_file.read_text())["profiles"].values():
        model = provider_class(table["provider"]).Settings
        found |= {str(v) for k, v in table.items() if k in model.model_fields and is_secret(model, k)}
        if table["provider"] == "vonage":
            pem = Path(table["private_key"]).read_text().splitlines()
            found |= {line for line in pem if line and not line.startswith("-----")}
    tokens = state / "callback-tokens"
    if tokens.is_dir():
        found |= {p.read_text().strip() for p in tokens.iterdir()}
    return {s for s in found if len(s) >= 8}


def commands(provider: str, call_id: str, port: int) -> list[list[str]]:
    p = ["-p", f"emulator-{provider}"]
    public = ["--callback-url", f"https://public.example/events/{provider}?keep=1"]
    local = ["--callback-url", f"http://127.0.0.1:{port}/events/{provider}"]
    runs = [
        ["events", "listen", "--port", "0", "--timeout", "0.2", *p],  # mints the ACS token first
        ["play", call_id, "--tts", "hi", *p, "--dry-run"],
        ["play", call_id, "--tts", "hi", *p, "--dry-run", *public],
        ["play", call_id, "--tts", "hi", *p, *local],
        ["play", call_id, "--tts", "hi", *p, "--wait", "--timeout", "30"],
        ["stream-status", call_id, *p],
        ["stop", call_id, *p],
        ["profiles", "show", f"emulator-{provider}"],
        ["profiles", "list"],
        ["events", "list"],
        ["events", "list", "--profile", f"emulator-{provider}"],
    ]
    return [[*args, *mode] for args in runs for mode in ([], ["-o", "json"])]


# ACS twice: with the token callplay mints, and with one the profile sets (the other profiles have no token).
CASES = [*((name, "minted") for name in PROVIDER_NAMES), ("acs", "configured")]


@pytest.mark.parametrize(("provider", "acs_token"), CASES)
def test_no_secret_reaches_output_or_the_ledger(
    emulator: EmulatorServer, config_file: Path, new_call: Any, tmp_path: Path, provider: str, acs_token: str
) -> None:
    if acs_token == "configured":
        text = config_file.read_text().replace(
            "[profiles.emulator-acs]\n", f'[profiles.emulator-acs]\ncallback_token = "{CONFIGURED_ACS_TOKEN}"\n'
        )
        config_file.write_text(text)
    call_id, port = new_call(), free_port()
    results: list[tuple[list[str], CliResult]] = []
    for args in commands(provider, call_id, port):
        result = run_cli(*args)
        assert result.exit_code in (0, 4), (args, result.stderr)  # 4: Vonage has no playback events (--wait)
        results.append((args, result))
    state = tmp_path / "state"
    known = secret_values(config_file, state)
    if provider == "acs":
        assert (CONFIGURED_ACS_TOKEN if acs_token == "configured" else stored_token("emulator-acs")) in known
    assert known, "the emulator's profiles have secrets"
    for args, result in results:
        for secret in known:
            assert secret not in result.stdout, (args, "stdout")
            assert secret not in result.stderr, (args, "stderr")
    ledger = b"".join(p.read_bytes() for p in state.glob("ledger.sqlite3*"))
    assert ledger, "the runs recorded playbacks"
    for secret in known:
        assert secret.encode() not in ledger, "ledger"
    dry = next(json.loads(r.stdout) for a, r in results if "--dry-run" in a and "--callback-url" in a and "-o" in a)
    if provider in ("acs", "signalwire", "chime"):  # Vonage sends no callback URL
        assert "https://public.example/events/" in json.dumps(dry["data"]["request"])


def test_url_secrets_are_masked_wherever_they_are_in_the_text() -> None:
    text = 'see "https://h/cb?a=1&token=abc-123_x&b=2" and http://h/x?sig=s%2Fd&X-Amz-Signature=ff00 end'
    assert (
        mask_url_secrets(text) == 'see "https://h/cb?a=1&token=***&b=2" and http://h/x?sig=***&X-Amz-Signature=*** end'
    )
    assert mask_url_secrets("tokens=1, no url here") == "tokens=1, no url here"
    assert redact({"u": ["x?token=t1"], "k": "my-secret-value"}, frozenset({"my-secret-value"})) == {
        "u": ["x?token=***"],
        "k": "***",
    }
