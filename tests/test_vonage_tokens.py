"""Vonage JWTs: signed with a key parsed once, and reused until shortly before they expire (the SDK parsed the
PEM and signed a new token on every request: some 120 ms each, 8 requests/s at most)."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from callplay.emulator.app import EmulatorServer
from callplay.providers.vonage import (
    JWT_LIFETIME_S,
    JWT_REUSE_MARGIN_S,
    ApplicationTokens,
    VonageProvider,
    VonageSettings,
    load_private_key,
)

APP = "a1b2c3d4-0000-4000-8000-000000000000"


def pem_of(key: rsa.RSAPrivateKey) -> str:
    fmt = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(token: bytes, key: rsa.RSAPrivateKey) -> dict[str, object]:
    return dict(jwt.decode(token, key.public_key(), algorithms=["RS256"], options={"verify_exp": False}))


def test_a_token_is_reused_until_a_margin_before_it_expires(key: rsa.RSAPrivateKey) -> None:
    now = [1_000_000.0]
    tokens = ApplicationTokens(APP, key, clock=lambda: now[0])
    first = tokens.current()
    got = claims(first, key)
    assert got["application_id"] == APP and got["iat"] == 1_000_000 and got["exp"] == 1_000_000 + JWT_LIFETIME_S
    assert jwt.get_unverified_header(first) == {"alg": "RS256", "typ": "JWT"}
    now[0] += JWT_LIFETIME_S - JWT_REUSE_MARGIN_S - 1
    assert tokens.current() == first
    now[0] += 1
    second = tokens.current()
    assert second != first
    assert claims(second, key)["jti"] != got["jti"] and claims(second, key)["iat"] == int(now[0])


def test_the_parsed_key_is_cached_by_its_bytes(key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    path = tmp_path / "private.key"
    path.write_text(pem_of(key))
    assert load_private_key(str(path)) is load_private_key(str(path))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_text(pem_of(other))  # a replaced file is read and parsed anew
    assert load_private_key(str(path)).private_numbers() == other.private_numbers()


def test_the_provider_sends_the_same_token_on_each_request(emulator: EmulatorServer, new_call: object) -> None:
    table = {k: v for k, v in emulator.config_dict()["profiles"]["emulator-vonage"].items() if k != "provider"}
    provider = VonageProvider(VonageSettings(**table), profile="emulator-vonage")
    try:
        call_id = new_call()  # type: ignore[operator]
        provider.status(call_id)
        auth = provider._client().http_client._auth
        header = auth.create_jwt_auth_string()
        provider.status(call_id)  # the emulator checks the token (signature, iat, exp) on every request
        assert auth.create_jwt_auth_string() == header and header.startswith(b"Bearer ")
    finally:
        provider.close()
