"""`events listen` with the emulator's written config (issue 11): every path authenticated with every profile's
secret, what is open said at start, replays, oversized, malformed and cross-provider callbacks refused, and the
token callplay mints for ACS shared by `play` and the listener."""

from __future__ import annotations

import json
import signal
import stat
import threading
import tomllib
from pathlib import Path
from typing import Any

import httpx

from callplay.core.callbacks import stored_token
from callplay.emulator.app import EmulatorServer
from callplay.emulator.signalwire import sign as signalwire_sign
from callplay.ledger import Ledger
from callplay.providers import PROVIDER_NAMES
from tests.conftest import answers, emulator_playbacks, free_port, run_cli, spawn_cli, tls_context, wait_until, web
from tests.test_events_auth import DEEP, body_for
from tests.test_vonage_face import app_token


def profiles(config_file: Path) -> dict[str, dict[str, Any]]:
    return dict(tomllib.loads(config_file.read_text())["profiles"])


def ledger_events() -> list[dict[str, Any]]:
    """The events the listener (another process, same state dir) has recorded."""
    return [e.to_dict() for e in Ledger.default().events(limit=1000)]


def test_events_listen_on_the_emulator_config(
    emulator: EmulatorServer, config_file: Path, new_call: Any, tmp_path: Path
) -> None:
    table = profiles(config_file)
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    listener = spawn_cli("events", "listen", "--port", str(port), "--timeout", "120", "-o", "json")
    client = web
    try:
        wait_until(lambda: answers(f"{root}/health") or listener.poll() is not None)
        assert listener.poll() is None, listener.communicate()
        acs_token = stored_token("emulator-acs", create=False)
        assert acs_token, "the listener mints the ACS profile's token when the profile sets none"

        # Unsigned posts are refused on every path.
        for provider in PROVIDER_NAMES:
            assert client.post(f"{root}/events/{provider}", content=body_for(provider)).status_code == 401, provider

        # Valid callbacks the emulator sends are accepted on all four paths.
        played, calls = {}, {}
        for provider in ("acs", "signalwire", "chime"):
            call = calls[provider] = new_call()
            result = run_cli(
                "play", call, "--tts", "hello", "-p", f"emulator-{provider}", "-o", "json",
                "--callback-url", f"{root}/events/{provider}",
            )  # fmt: skip
            played[provider] = result.data()["control_id"]
        vonage_leg = _vonage_call(emulator, f"{root}/events/vonage")
        ends = {"acs": "PlayCompleted", "signalwire": "finished", "chime": "ACTION_SUCCESSFUL"}

        def arrived() -> bool:
            seen = {(e["provider"], e["control_id"] or e["call_id"], e["type"]) for e in ledger_events()}
            ok = all((p, played[p], ends[p]) in seen for p in played)
            return ok and ("vonage", vonage_leg, "answered") in seen

        wait_until(arrived, describe=ledger_events)

        # ACS: `play` put the listener's (minted) token in the callback URL it sent.
        [acs_playback] = emulator_playbacks(emulator, calls["acs"], played["acs"])
        assert acs_playback["detail"]["callbackUri"].endswith(f"token={acs_token}")

        # A redelivered valid callback is answered 200 both times, and recorded once.
        body = body_for("signalwire", control_id="cp-00000000beef")
        url = f"{root}/events/signalwire"
        headers = signalwire_sign(table["emulator-signalwire"]["signing_key"], url, body)
        assert [client.post(url, content=body, headers=headers).status_code for _ in range(2)] == [200, 200]
        assert len([e for e in ledger_events() if e["control_id"] == "cp-00000000beef"]) == 1

        # 20 MB: 413, unread. 100,000 deep (authenticated, so it reaches the parser): 400.
        assert client.post(f"{root}/events/acs?token={acs_token}", content=b"[" * 20_000_000).status_code == 413
        assert client.post(f"{root}/events/acs?token={acs_token}", content=DEEP).status_code == 400

        # A forged ACS event (with the ACS token) naming a SignalWire playback does not touch it.
        call = new_call()
        long_play = run_cli(
            "play", call, "silence:600", "-p", "emulator-signalwire", "-o", "json",
            "--callback-url", f"{root}/events/signalwire",
        )  # fmt: skip
        sw_id = long_play.data()["control_id"]
        wait_until(lambda: any(e["control_id"] == sw_id for e in ledger_events()))
        forged = client.post(
            f"{root}/events/acs?token={acs_token}", content=body_for("acs", control_id=sw_id, call_id=call)
        )
        assert forged.status_code == 422
        status = run_cli("stream-status", call, "-p", "emulator-signalwire", "-o", "json").data()
        assert [p["state"] for p in status["playbacks"] if p["control_id"] == sw_id] == ["playing"]
        assert not [e for e in ledger_events() if e["control_id"] == sw_id and e["provider"] == "acs"]
        run_cli("stop", call, "-p", "emulator-signalwire", "-o", "json").data()
    finally:
        listener.send_signal(signal.SIGINT)
        out, err = listener.communicate(timeout=30)
    ready, *lines = [json.loads(line) for line in out.splitlines()]
    paths = ready["data"]["ready"]["paths"]
    # Every profile in the config (and the built-in demo, an ACS profile) lends its provider's path its secret.
    assert {name: (p["mode"], p["profiles"]) for name, p in paths.items()} == {
        "acs": ("verified", ["demo", "emulator-acs"]),
        "signalwire": ("verified", ["emulator-signalwire"]),
        "vonage": ("verified", ["emulator-vonage"]),
        "chime": ("verified", ["emulator-chime"]),
    }
    for name in PROVIDER_NAMES:
        assert f"{name} " in err and "verified" in err
    received = {line["data"]["event"]["provider"] for line in lines if "event" in (line.get("data") or {})}
    assert received == set(PROVIDER_NAMES)
    assert "Traceback" not in err
    assert acs_token not in out + err


def _vonage_call(emulator: EmulatorServer, event_url: str) -> str:
    """A call created through the Vonage face, which then posts its signed status events to `event_url`."""
    table = emulator.config_dict()["profiles"]["emulator-vonage"]
    tls = tls_context(table["ca_file"])
    body = {
        "to": [{"type": "phone", "number": "447700900000"}],
        "from": {"type": "phone", "number": "447700900001"},
        "ncco": [{"action": "talk", "text": "hello"}],
        "event_url": [event_url],
    }
    with httpx.Client(base_url=f"https://{table['api_host']}", verify=tls, timeout=30) as client:
        created = client.post("/v1/calls", json=body, headers={"Authorization": f"Bearer {app_token(emulator)}"})
    assert created.status_code == 201, created.text
    return str(created.json()["uuid"])


# ------------------------------------------------------------------------------------------ in-process


def _ready(*args: str) -> tuple[dict[str, Any], str]:
    result = run_cli("events", "listen", "--port", "0", "--timeout", "0.2", "-o", "json", *args)
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    return first["data"]["ready"], result.stderr


def test_a_profile_restricts_the_listener_to_its_secret(config_file: Path) -> None:
    ready, banner = _ready("-p", "emulator-signalwire")
    modes = {name: (p["mode"], p["profiles"]) for name, p in ready["paths"].items()}
    assert modes == {
        "acs": ("refused", []),
        "signalwire": ("verified", ["emulator-signalwire"]),
        "vonage": ("refused", []),
        "chime": ("refused", []),
    }
    assert "refused: no signature_secret" in banner and "--allow-unsigned vonage" in banner


def test_allow_unsigned_opens_only_the_paths_named(config_file: Path) -> None:
    ready, banner = _ready("-p", "emulator-signalwire", "--allow-unsigned", "chime", "--allow-unsigned", "acs")
    assert [p["mode"] for p in ready["paths"].values()] == ["unchecked", "verified", "refused", "unchecked"]
    assert banner.count("UNCHECKED") == 2


def test_allow_unsigned_takes_only_provider_names() -> None:
    result = run_cli("events", "listen", "--port", "0", "--timeout", "0.1", "--allow-unsigned", "twilio")
    assert result.exit_code == 2 and "twilio" in result.stderr and "acs" in result.stderr


def test_with_no_config_the_demo_profile_guards_the_acs_path() -> None:
    ready, _ = _ready()
    assert {n: p["mode"] for n, p in ready["paths"].items()} == {
        "acs": "verified",
        "signalwire": "refused",
        "vonage": "refused",
        "chime": "refused",
    }


def test_a_profile_that_does_not_resolve_is_skipped_with_a_warning(config_file: Path) -> None:
    config_file.write_text(config_file.read_text() + '\n[profiles.broken]\nprovider = "twilio"\n')
    ready, banner = _ready()
    assert any("broken" in w for w in ready["warnings"]) and "profile broken skipped" in banner
    assert ready["paths"]["vonage"]["mode"] == "verified"


# --------------------------------------------------------------------------------------- the ACS token


def test_the_minted_token_is_private_and_shared(config_file: Path, call_id: str, tmp_path: Path) -> None:
    dry = run_cli(
        "play", call_id, "--tts", "hi", "-p", "emulator-acs", "--dry-run", "-o", "json",
        "--callback-url", "https://public.example/events/acs",
    )  # fmt: skip
    uri = dry.data()["request"]["body"]["operationCallbackUri"]
    assert uri == "https://public.example/events/acs?token=***"
    assert stored_token("emulator-acs", create=False) is None  # a dry run mints nothing
    _ready("-p", "emulator-acs")
    token = stored_token("emulator-acs", create=False)
    assert token and stored_token("emulator-acs") == token  # minted once, then kept
    path = next((tmp_path / "state" / "callback-tokens").iterdir())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    dry = run_cli("play", call_id, "--tts", "hi", "-p", "emulator-acs", "--dry-run", "-o", "json",
                  "--callback-url", "https://public.example/events/acs")  # fmt: skip
    assert token not in dry.stdout + dry.stderr


def test_a_configured_callback_token_is_used_as_is(
    emulator: EmulatorServer, config_file: Path, call_id: str, tmp_path: Path
) -> None:
    text = config_file.read_text().replace(
        "[profiles.emulator-acs]\n", '[profiles.emulator-acs]\ncallback_token = "configured-token-0123456789"\n'
    )
    config_file.write_text(text)
    ready, _ = _ready("-p", "emulator-acs")
    assert ready["paths"]["acs"]["mode"] == "verified"
    assert stored_token("emulator-acs", create=False) is None
    played = run_cli("play", call_id, "--tts", "hi", "-p", "emulator-acs", "-o", "json",
                     "--callback-url", "http://127.0.0.1:9/events/acs?token=old").data()  # fmt: skip
    [playback] = emulator_playbacks(emulator, call_id, played["control_id"])
    assert playback["detail"]["callbackUri"] == "http://127.0.0.1:9/events/acs?token=configured-token-0123456789"


def test_processes_minting_at_once_agree(tmp_path: Path) -> None:
    tokens: list[str | None] = []
    threads = [threading.Thread(target=lambda: tokens.append(stored_token("race"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tokens) == 8 and len(set(tokens)) == 1 and tokens[0]
    assert [p.name for p in (tmp_path / "state" / "callback-tokens").iterdir()] == ["race.token"]


def test_odd_profile_names_stay_inside_the_token_directory(tmp_path: Path) -> None:
    for name in ("..", "../x", "a/b", "é"):
        assert stored_token(name)
    names = sorted(p.name for p in (tmp_path / "state" / "callback-tokens").iterdir())
    assert len(names) == 4 and all("/" not in n and not n.startswith(".") for n in names)


def test_the_token_is_added_to_a_callback_url_without_disturbing_the_rest() -> None:
    from callplay.core.callbacks import with_token

    assert with_token("https://h/events/acs", "t1") == "https://h/events/acs?token=t1"
    assert with_token("https://h/events/acs?x=a%20b#f", "t1") == "https://h/events/acs?x=a%20b&token=t1#f"
    assert with_token("https://h/events/acs?token=old&x=1", "t1") == "https://h/events/acs?x=1&token=t1"
