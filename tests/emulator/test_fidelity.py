"""Where the emulator used to differ from the providers (issue 14), checked with the official clients.

ACS: the SDK's hold/unhold, and x-ms-date (RFC 1123, at most 15 minutes off). Vonage: a token's age (24 h
after iat at most; 15 minutes without exp). Chime: CreateSipMediaApplicationCall through boto3, and the
model's `.*\\S.*` pattern on path IDs. SignalWire: `links.first` on the voice log list.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import boto3
import httpx
import jwt
import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CallConnectionClient,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
    TextSource,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from botocore.config import Config
from botocore.exceptions import ClientError

from callplay.emulator.acs import API_VERSION, date_problem, signed_headers
from callplay.emulator.app import EmulatorServer
from tests.conftest import CliResult, emulator_call, tls_context, wait_until, web

PHONE = "4:+14255550123"  # a participant of every call the admin API makes (state.DEFAULT_PARTICIPANTS)
AGENT = "8:acs:emulator-agent-0001"


def profile(emulator: EmulatorServer, name: str) -> dict[str, Any]:
    return dict(emulator.config_dict()["profiles"][f"emulator-{name}"])


# ------------------------------------------------------------------------------------------------- ACS


@pytest.fixture
def conn(emulator: EmulatorServer, call_id: str) -> CallConnectionClient:
    key = profile(emulator, "acs")["access_key"]
    client = CallAutomationClient(emulator.http_url, AzureKeyCredential(key), retry_total=0)
    return client.get_call_connection(call_id)


def on_hold(conn: CallConnectionClient) -> dict[str, bool]:
    return {p.identifier.raw_id: bool(p.is_on_hold) for p in conn.list_participants()}


def test_sdk_hold_and_unhold_change_the_participants_state(
    emulator: EmulatorServer, config_file: Path, conn: CallConnectionClient, call_id: str, cli: Callable[..., CliResult]
) -> None:
    conn.hold(PhoneNumberIdentifier("+14255550123"), operation_context="hold-1")
    assert on_hold(conn) == {AGENT: False, PHONE: True}
    assert emulator_call(emulator, call_id)["on_hold"] == [PHONE]
    status = cli("stream-status", call_id, "-p", "emulator-acs", "-o", "json").data()
    assert {p["raw_id"]: p["detail"]["on hold"] for p in status["participants"]} == {AGENT: False, PHONE: True}
    table = cli("stream-status", call_id, "-p", "emulator-acs")
    assert "on hold=yes" in table.stdout or "on hold=True" in table.stdout, table.stdout

    conn.unhold(PhoneNumberIdentifier("+14255550123"))
    conn.unhold(PhoneNumberIdentifier("+14255550123"))  # idempotent, like hold
    assert on_hold(conn) == {AGENT: False, PHONE: False}
    assert emulator_call(emulator, call_id)["on_hold"] == []


def test_sdk_hold_with_music_is_validated_like_a_play_source(conn: CallConnectionClient) -> None:
    conn.hold(CommunicationUserIdentifier(AGENT), play_source=TextSource(text="Please hold"))
    assert on_hold(conn)[AGENT] is True


@pytest.mark.parametrize("verb", ["hold", "unhold"])
def test_hold_of_someone_not_in_the_call_is_400_8523(conn: CallConnectionClient, verb: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        getattr(conn, verb)(PhoneNumberIdentifier("+15550009999"))
    assert info.value.status_code == 400
    assert info.value.error is not None and info.value.error.code == "8523"
    assert "+15550009999" in str(info.value.error.message)


def test_hold_body_is_checked_against_the_rest_definition(
    emulator: EmulatorServer, call_id: str, conn: CallConnectionClient
) -> None:
    url = f"{emulator.http_url}/calling/callConnections/{call_id}:hold?api-version={API_VERSION}"
    body = b'{"participant": {"rawId": "4:+14255550123"}}'  # not targetParticipant
    headers = {**signed_headers(profile(emulator, "acs")["access_key"], "POST", url, body), "content-type": "x"}
    resp = web.post(url, content=body, headers=headers)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "8523"
    assert on_hold(conn)[PHONE] is False


@pytest.fixture
def request_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """Set the clock the ACS SDK dates (and signs) its requests with, not the emulator's."""
    from azure.communication.callautomation._shared import policy

    def shift(seconds: float) -> None:
        monkeypatch.setattr(policy, "get_current_utc_time", lambda: formatdate(time.time() + seconds, usegmt=True))

    yield shift


@pytest.mark.parametrize("offset_s", [-20 * 60, 20 * 60])
def test_a_play_dated_20_minutes_off_is_401(
    emulator: EmulatorServer,
    conn: CallConnectionClient,
    call_id: str,
    request_clock: Callable[[float], None],
    offset_s: float,
) -> None:
    request_clock(offset_s)
    with pytest.raises(ClientAuthenticationError) as info:
        conn.play_media(TextSource(text="replayed"))
    assert info.value.status_code == 401
    assert info.value.error is not None and info.value.error.code == "7509"
    assert "20 minutes" in str(info.value.error.message)
    assert emulator_call(emulator, call_id)["playbacks"] == []


def test_a_play_dated_14_minutes_ago_is_accepted(
    emulator: EmulatorServer, conn: CallConnectionClient, call_id: str, request_clock: Callable[[float], None]
) -> None:
    request_clock(-14 * 60)
    conn.play_media(TextSource(text="a slow clock"))
    assert len(emulator_call(emulator, call_id)["playbacks"]) == 1


@pytest.mark.parametrize(
    ("date", "words"),
    [
        (None, "missing"),
        ("yesterday", "not an RFC 1123 date"),
        ("2026-12-02T01:00:00Z", "not an RFC 1123 date"),
        ("Wed, 2 Dec 2026 01:00:00 GMT", "not an RFC 1123 date"),  # one-digit day
        ("Wed, 02 Dec 2026 01:00:00 +0000", "not an RFC 1123 date"),
        ("Wed, 31 Feb 2026 01:00:00 GMT", "not a valid date"),
    ],
)
def test_dates_that_are_not_rfc_1123_are_refused(date: str | None, words: str) -> None:
    problem = date_problem(date)
    assert problem is not None and words in problem


def test_the_weekday_must_match_the_date() -> None:
    now = time.time()
    good = formatdate(now, usegmt=True)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    wrong = days[(days.index(good[:3]) + 1) % 7] + good[3:]
    assert date_problem(good, now) is None
    assert "day of the week" in str(date_problem(wrong, now))


@pytest.mark.parametrize("date", ["yesterday", "Tue, 01 Jan 2024 00:00:00 GMT", None])
def test_a_signed_request_with_a_bad_date_is_401_in_acs_shape(
    emulator: EmulatorServer, call_id: str, date: str | None
) -> None:
    """Signed with the key (the signature holds): only the date is wrong."""
    url = f"{emulator.http_url}/calling/callConnections/{call_id}?api-version={API_VERSION}"
    key = profile(emulator, "acs")["access_key"]
    headers = signed_headers(key, "GET", url, date=date or "")
    if date is None:  # signed without the header: the signature cannot hold either
        del headers["x-ms-date"]
    resp = web.get(url, headers=headers)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "7509"
    assert set(resp.json()) == {"error"} and set(resp.json()["error"]) == {"code", "message"}


# ---------------------------------------------------------------------------------------------- Vonage


@pytest.fixture
def vonage_get(emulator: EmulatorServer, call_id: str) -> Iterator[Callable[[str], httpx.Response]]:
    table = profile(emulator, "vonage")
    tls = tls_context(table["ca_file"])
    client = httpx.Client(base_url=f"https://{table['api_host']}", verify=tls, timeout=30)

    def get(token: str) -> httpx.Response:
        return client.get(f"/v1/calls/{call_id}", headers={"Authorization": f"Bearer {token}"})

    yield get
    client.close()


def sdk_token(emulator: EmulatorServer, **options: Any) -> str:
    """A token minted by the Vonage SDK's own JWT client (vonage-jwt), with its claims overridden."""
    from vonage_jwt import JwtClient

    table = profile(emulator, "vonage")
    client = JwtClient(table["application_id"], Path(table["private_key"]).read_text())
    token = client.generate_application_jwt(options)
    return token.decode() if isinstance(token, bytes) else str(token)


def test_a_vonage_token_25_hours_after_iat_is_refused_whatever_exp_says(
    emulator: EmulatorServer, vonage_get: Callable[[str], httpx.Response]
) -> None:
    now = int(time.time())
    resp = vonage_get(sdk_token(emulator, iat=now - 25 * 3600, exp=now + 3600))
    assert resp.status_code == 401
    assert "more than 24 hours" in resp.json()["detail"]
    assert vonage_get(sdk_token(emulator, iat=now - 23 * 3600, exp=now + 3600)).status_code == 200


def test_a_vonage_token_without_exp_is_good_for_15_minutes(
    emulator: EmulatorServer, vonage_get: Callable[[str], httpx.Response]
) -> None:
    table = profile(emulator, "vonage")
    key = Path(table["private_key"]).read_text()

    def no_exp(age_s: int) -> str:  # as the SDK mints them (RS256, application_id, iat, jti), minus exp
        claims = {"application_id": table["application_id"], "iat": int(time.time()) - age_s, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="RS256", headers={"typ": "JWT"})

    assert vonage_get(no_exp(0)).status_code == 200
    assert vonage_get(no_exp(14 * 60)).status_code == 200
    refused = vonage_get(no_exp(16 * 60))
    assert refused.status_code == 401 and "no exp" in refused.json()["detail"]


# ----------------------------------------------------------------------------------------------- Chime


def voice_client(emulator: EmulatorServer) -> Any:
    table = profile(emulator, "chime")
    return boto3.client(
        "chime-sdk-voice",
        endpoint_url=table["endpoint_url"],
        region_name=table["region"],
        aws_access_key_id=table["aws_access_key_id"],
        aws_secret_access_key=table["aws_secret_access_key"],
        config=Config(retries={"max_attempts": 1}),
    )


def invocations(emulator: EmulatorServer, call_id: str) -> list[str]:
    return [e["invocation"] for e in emulator_call(emulator, call_id)["log"] if "invocation" in e]


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_boto3_create_call_starts_a_call_that_callplay_plays_into(
    emulator: EmulatorServer, config_file: Path, cli: Callable[..., CliResult]
) -> None:
    sma = profile(emulator, "chime")["sip_media_application_id"]
    resp = voice_client(emulator).create_sip_media_application_call(
        FromPhoneNumber="+18005550100",
        ToPhoneNumber="+14255550199",
        SipMediaApplicationId=sma,
        SipHeaders={"X-Ticket": "T-1"},
        ArgumentsMap={"campaign": "fidelity"},
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 201
    transaction = resp["SipMediaApplicationCall"]["TransactionId"]
    assert str(uuid.UUID(transaction)) == transaction  # the model's GuidString
    assert wait_until(lambda: invocations(emulator, transaction) == ["NEW_OUTBOUND_CALL", "RINGING", "CALL_ANSWERED"])
    call = emulator_call(emulator, transaction)
    assert call["state"] == "connected"
    first, _, answered = (e for e in call["log"] if "invocation" in e)
    assert first["action_data"] == {"Type": "CallCreateRequest", "Parameters": {"Arguments": {"campaign": "fidelity"}}}
    assert call["data"]["chime"]["outbound"]["sip_headers"] == {"X-Ticket": "T-1"}

    played = cli("play", transaction, "--tts", "Hello from the runbook", "--wait", "-p", "emulator-chime", "-o", "json")
    data = played.data()
    assert data["call_id"] == transaction and data["state"] == "finished"
    assert invocations(emulator, transaction)[-2:] == ["CALL_UPDATE_REQUESTED", "ACTION_SUCCESSFUL"]
    [speak] = (e for e in emulator_call(emulator, transaction)["log"] if e.get("action") == "Speak")
    assert speak["result"] == "ACTION_SUCCESSFUL"
    assert answered["response"]["Actions"] == []  # the reference Lambda's default hook: no actions of its own


def test_the_lambda_sees_the_outbound_leg_as_chime_describes_it(emulator: EmulatorServer) -> None:
    sma = profile(emulator, "chime")["sip_media_application_id"]
    resp = voice_client(emulator).create_sip_media_application_call(
        FromPhoneNumber="+18005550100", ToPhoneNumber="+14255550199", SipMediaApplicationId=sma
    )
    transaction = resp["SipMediaApplicationCall"]["TransactionId"]
    wait_until(lambda: "CALL_ANSWERED" in invocations(emulator, transaction))
    face = next(f for f in emulator.faces if f.name == "chime")
    [leg] = face._participants(emulator.world.calls[transaction])  # type: ignore[attr-defined]
    assert {k: leg[k] for k in ("ParticipantTag", "From", "To", "Direction", "Status")} == {
        "ParticipantTag": "LEG-A",
        "From": "+18005550100",
        "To": "+14255550199",
        "Direction": "Outbound",
        "Status": "Connected",
    }


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"FromPhoneNumber": "555-0100"}, "FromPhoneNumber must be an E.164"),
        ({"ToPhoneNumber": "+0123"}, "ToPhoneNumber must be an E.164"),
        ({"ToPhoneNumber": "+1234567890123456"}, "ToPhoneNumber must be an E.164"),  # 16 digits
        ({"ArgumentsMap": {f"k{i}": "v" for i in range(21)}}, "0-20"),
        ({"SipHeaders": {f"X-{i}": "v" for i in range(21)}}, "0-20"),
    ],
)
def test_create_call_validates_like_the_model(emulator: EmulatorServer, overrides: dict[str, Any], words: str) -> None:
    before = set(emulator.world.calls)
    params = {
        "FromPhoneNumber": "+18005550100",
        "ToPhoneNumber": "+14255550199",
        "SipMediaApplicationId": profile(emulator, "chime")["sip_media_application_id"],
        **overrides,
    }
    with pytest.raises(ClientError) as info:
        voice_client(emulator).create_sip_media_application_call(**params)
    assert error_of(info) == ("BadRequestException", 400)
    assert words in info.value.response["Error"]["Message"]
    assert set(emulator.world.calls) == before


def test_create_call_on_an_unknown_sma_is_404(emulator: EmulatorServer) -> None:
    with pytest.raises(ClientError) as info:
        voice_client(emulator).create_sip_media_application_call(
            FromPhoneNumber="+18005550100", ToPhoneNumber="+14255550199", SipMediaApplicationId=str(uuid.uuid4())
        )
    assert error_of(info) == ("NotFoundException", 404)


@pytest.mark.parametrize("transaction", [" ", "\t", ""])
def test_a_blank_transaction_id_is_400_not_404(emulator: EmulatorServer, transaction: str) -> None:
    with pytest.raises(ClientError) as info:
        voice_client(emulator).update_sip_media_application_call(
            SipMediaApplicationId=profile(emulator, "chime")["sip_media_application_id"],
            TransactionId=transaction,
            Arguments={},
        )
    assert error_of(info) == ("BadRequestException", 400)
    assert "TransactionId" in info.value.response["Error"]["Message"]


def test_a_blank_sma_id_is_400_too(emulator: EmulatorServer, call_id: str) -> None:
    with pytest.raises(ClientError) as info:
        voice_client(emulator).update_sip_media_application_call(
            SipMediaApplicationId=" ", TransactionId=call_id, Arguments={}
        )
    assert error_of(info) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as info:
        voice_client(emulator).create_sip_media_application_call(
            FromPhoneNumber="+18005550100", ToPhoneNumber="+14255550199", SipMediaApplicationId=" "
        )
    assert error_of(info) == ("BadRequestException", 400)


def test_an_unknown_transaction_id_is_still_404(emulator: EmulatorServer) -> None:
    with pytest.raises(ClientError) as info:
        voice_client(emulator).update_sip_media_application_call(
            SipMediaApplicationId=profile(emulator, "chime")["sip_media_application_id"],
            TransactionId=str(uuid.uuid4()),
            Arguments={},
        )
    assert error_of(info) == ("NotFoundException", 404)


# ------------------------------------------------------------------------------------------ SignalWire


def test_voice_log_list_has_links_first(emulator: EmulatorServer, call_id: str) -> None:
    table = profile(emulator, "signalwire")
    auth = (table["project"], table["token"])
    url = f"{emulator.http_url}/api/voice/logs"
    links = web.get(url, params={"page_size": 50}, auth=auth).json()["links"]
    assert links["self"].endswith("/api/voice/logs?page_size=50")
    assert links["first"] == links["self"]
    paged = web.get(url, params={"page_number": 0, "page_size": 50, "page_token": "PA1"}, auth=auth).json()
    assert paged["links"]["first"].endswith("/api/voice/logs?page_size=50")
    assert not {"next", "prev"} & set(paged["links"])  # every log is on the one page
