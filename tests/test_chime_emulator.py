"""The emulator's Chime and S3 faces, as boto3, the AWS CLI and plain HTTP see them."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from callplay.emulator.app import EmulatorServer
from callplay.emulator.s3 import BadPayload, decode_aws_chunked
from tests.conftest import emulator_call, wait_until, web
from tests.test_chime_provider import chime_face, invocations, wav_bytes


def profile(emulator: EmulatorServer) -> dict[str, Any]:
    return chime_face(emulator).profile(emulator)


def client(
    emulator: EmulatorServer, service: str, *, secret: str | None = None, https: bool = False, region: str = "us-east-1"
) -> Any:
    p = profile(emulator)
    url = emulator.https_url if https else emulator.http_url
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=p["aws_access_key_id"],
        aws_secret_access_key=secret or p["aws_secret_access_key"],
        verify=str(emulator.tls.ca_file) if https else None,
        config=Config(
            retries={"max_attempts": 1},
            signature_version="s3v4" if service == "s3" else None,
            s3={"addressing_style": "path"},
        ),
    )


def code(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


# ---------------------------------------------------------------------------------------------- Chime


def test_update_is_answered_202_with_the_transaction_id(emulator: EmulatorServer, call_id: str) -> None:
    voice = client(emulator, "chime-sdk-voice")
    resp = voice.update_sip_media_application_call(
        SipMediaApplicationId=profile(emulator)["sip_media_application_id"],
        TransactionId=call_id,
        Arguments={"JoinToken": "abc"},
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert resp["SipMediaApplicationCall"] == {"TransactionId": call_id}
    # Not callplay's arguments: the Lambda hands it to the user's hook, which answers no actions.
    assert wait_until(lambda: invocations(emulator, call_id) == ["CALL_UPDATE_REQUESTED"])
    entry = emulator_call(emulator, call_id)["log"][0]
    assert entry["action_data"] == {"Type": "CallUpdateRequest", "Parameters": {"Arguments": {"JoinToken": "abc"}}}
    assert entry["response"] == {"SchemaVersion": "1.0", "Actions": []}


def test_bad_signature_is_403_forbidden_in_aws_shape(emulator: EmulatorServer, call_id: str) -> None:
    voice = client(emulator, "chime-sdk-voice", secret="z" * 40)
    with pytest.raises(ClientError) as err:
        voice.update_sip_media_application_call(
            SipMediaApplicationId=profile(emulator)["sip_media_application_id"], TransactionId=call_id, Arguments={}
        )
    assert code(err) == ("ForbiddenException", 403)
    assert "signature" in err.value.response["Error"]["Message"]


def test_unsigned_request_is_403_with_error_type_header(emulator: EmulatorServer, call_id: str) -> None:
    sma = profile(emulator)["sip_media_application_id"]
    resp = web.post(f"{emulator.http_url}/sip-media-applications/{sma}/calls/{call_id}", json={"Arguments": {}})
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert resp.json()["Code"] == "ForbiddenException"
    assert emulator_call(emulator, call_id)["log"] == []


def test_wrong_region_is_refused(emulator: EmulatorServer, call_id: str) -> None:
    voice = client(emulator, "chime-sdk-voice", region="eu-central-1")
    with pytest.raises(ClientError) as err:
        voice.update_sip_media_application_call(
            SipMediaApplicationId=profile(emulator)["sip_media_application_id"], TransactionId=call_id, Arguments={}
        )
    assert code(err) == ("ForbiddenException", 403)


def test_get_sip_media_application(emulator: EmulatorServer) -> None:
    sma = profile(emulator)["sip_media_application_id"]
    got = client(emulator, "chime-sdk-voice").get_sip_media_application(SipMediaApplicationId=sma)
    assert got["SipMediaApplication"]["SipMediaApplicationId"] == sma
    assert got["SipMediaApplication"]["Endpoints"][0]["LambdaArn"].startswith("arn:aws:lambda:us-east-1:")


def test_too_many_arguments_is_bad_request(emulator: EmulatorServer, call_id: str) -> None:
    voice = client(emulator, "chime-sdk-voice")
    with pytest.raises(ClientError) as err:
        voice.update_sip_media_application_call(
            SipMediaApplicationId=profile(emulator)["sip_media_application_id"],
            TransactionId=call_id,
            Arguments={f"k{i}": "v" for i in range(21)},
        )
    assert code(err) == ("BadRequestException", 400)


def test_hung_up_call_is_not_found_and_the_lambda_hears_the_hangup(
    emulator: EmulatorServer, call_id: str, tmp_path: Path
) -> None:
    from callplay.model import Audio, PlayRequest
    from tests.test_chime_provider import provider, write_wav

    provider(emulator).play(call_id, PlayRequest([Audio(str(write_wav(tmp_path / "p.wav", seconds=5)))], loop=100))
    assert wait_until(lambda: any(s["state"] == "playing" for s in emulator_call(emulator, call_id)["playbacks"]))
    web.post(f"{emulator.http_url}/_emulator/calls/{call_id}/hangup").raise_for_status()
    assert wait_until(lambda: "HANGUP" in invocations(emulator, call_id))
    voice = client(emulator, "chime-sdk-voice")
    with pytest.raises(ClientError) as err:
        voice.update_sip_media_application_call(
            SipMediaApplicationId=profile(emulator)["sip_media_application_id"], TransactionId=call_id, Arguments={}
        )
    assert code(err) == ("NotFoundException", 404)


def test_invalid_lambda_response_is_reported_to_the_lambda(
    emulator: EmulatorServer, call_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callplay.chime_lambda import hooks

    monkeypatch.setattr(
        hooks,
        "user_hook",
        lambda ev: (
            {"SchemaVersion": "1.0", "Actions": [{"Type": "Dance"}]}
            if ev["InvocationEventType"] == "CALL_UPDATE_REQUESTED"
            else {"Actions": []}
        ),
    )
    client(emulator, "chime-sdk-voice").update_sip_media_application_call(
        SipMediaApplicationId=profile(emulator)["sip_media_application_id"],
        TransactionId=call_id,
        Arguments={"mine": "1"},
    )
    assert wait_until(lambda: invocations(emulator, call_id) == ["CALL_UPDATE_REQUESTED", "INVALID_LAMBDA_RESPONSE"])
    entry = emulator_call(emulator, call_id)["log"][-1]
    assert entry["ErrorType"] == "InvalidActionType"


def test_injected_fault_has_chimes_error_shape(emulator: EmulatorServer, call_id: str) -> None:
    web.post(f"{emulator.http_url}/_emulator/faults", json={"rate_limit": 1, "retry_after": 3}).raise_for_status()
    voice = client(emulator, "chime-sdk-voice")
    with pytest.raises(ClientError) as err:
        voice.update_sip_media_application_call(
            SipMediaApplicationId=profile(emulator)["sip_media_application_id"], TransactionId=call_id, Arguments={}
        )
    assert code(err) == ("ThrottledClientException", 429)
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "3"


# ------------------------------------------------------------------------------------------------- S3


@pytest.mark.parametrize("https", [False, True])
def test_put_head_get_list_delete(emulator: EmulatorServer, https: bool) -> None:
    s3 = client(emulator, "s3", https=https)
    bucket = profile(emulator)["bucket"]
    key = f"tests/{'tls' if https else 'plain'}/a b+c.wav"
    data = wav_bytes(seconds=0.2)
    # A file object: over https recent botocore sends it aws-chunked with a CRC32 trailer.
    s3.put_object(Bucket=bucket, Key=key, Body=io.BytesIO(data), ContentType="audio/wav", Metadata={"who": "test"})
    head = s3.head_object(Bucket=bucket, Key=key)
    assert (head["ContentType"], head["ContentLength"], head["Metadata"]) == ("audio/wav", len(data), {"who": "test"})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-3")["Body"].read() == b"RIFF"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key.rsplit("/", 1)[0] + "/")
    assert [o["Key"] for o in listed["Contents"]] == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key=key)
    assert code(err) == ("404", 404)


def test_s3_errors_are_s3s_xml(emulator: EmulatorServer) -> None:
    s3 = client(emulator, "s3")
    bucket = profile(emulator)["bucket"]
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="nope.wav")
    assert code(err) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket="no-such-bucket-x", Key="k", Body=b"1")
    assert code(err) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as err:
        client(emulator, "s3", secret="q" * 40).get_object(Bucket=bucket, Key="nope.wav")
    assert code(err) == ("SignatureDoesNotMatch", 403)
    unknown = boto3.client(
        "s3",
        endpoint_url=emulator.http_url,
        region_name="us-east-1",
        aws_access_key_id="AKIANOTKNOWN00000000",
        aws_secret_access_key="x" * 40,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as err:
        unknown.list_objects_v2(Bucket=bucket)
    assert code(err) == ("InvalidAccessKeyId", 403)


def test_create_bucket_and_list_buckets(emulator: EmulatorServer) -> None:
    s3 = client(emulator, "s3")
    s3.create_bucket(Bucket="callplay-test-created")
    s3.head_bucket(Bucket="callplay-test-created")
    assert "callplay-test-created" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket="callplay-test-created")
    assert code(err) == ("BucketAlreadyOwnedByYou", 409)
    s3.delete_bucket(Bucket="callplay-test-created")


def test_presigned_get(emulator: EmulatorServer) -> None:
    s3 = client(emulator, "s3")
    bucket = profile(emulator)["bucket"]
    s3.put_object(Bucket=bucket, Key="tests/presigned.wav", Body=b"RIFFdata", ContentType="audio/wav")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "tests/presigned.wav"})
    assert web.get(url).content == b"RIFFdata"
    tampered = url.replace("presigned.wav", "presigned.wav2")
    assert web.get(tampered).status_code == 403


def test_checksum_mismatch_is_bad_digest(emulator: EmulatorServer) -> None:
    s3 = client(emulator, "s3")
    wrong = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=profile(emulator)["bucket"], Key="tests/bad.wav", Body=b"data", ChecksumCRC32=wrong)
    assert code(err) == ("BadDigest", 400)


def test_aws_chunked_decoding() -> None:
    crc = base64.b64encode(zlib.crc32(b"hello world").to_bytes(4, "big")).decode()
    body = f"5\r\nhello\r\n6;chunk-signature=abc\r\n world\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    assert decode_aws_chunked(body) == (b"hello world", {"x-amz-checksum-crc32": crc})
    with pytest.raises(BadPayload):
        decode_aws_chunked(b"5\r\nhel")


def test_uploads_are_counted_per_key(emulator: EmulatorServer) -> None:
    s3 = client(emulator, "s3")
    bucket = profile(emulator)["bucket"]
    for _ in range(2):
        s3.put_object(Bucket=bucket, Key="tests/counted.wav", Body=b"x", ContentType="audio/wav")
    assert chime_face(emulator).store.put_count(bucket, "tests/counted.wav") == 2


# ------------------------------------------------------------------------------------------ AWS CLI


def aws(emulator: EmulatorServer, *args: str, secret: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if exe is None:
        pytest.skip("the aws entry point (awscli, a dev dependency) is not installed")
    p = profile(emulator)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": p["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": secret or p["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": p["region"],
        "AWS_MAX_ATTEMPTS": "1",
    }
    return subprocess.run(
        [exe, "--endpoint-url", emulator.http_url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_aws_cli_update_sip_media_application_call(emulator: EmulatorServer, call_id: str) -> None:
    p = profile(emulator)
    args = json.dumps({"callplay": "1", "action": "speak", "control_id": "cp-aws000000001", "text": "From the CLI"})
    result = aws(
        emulator,
        "chime-sdk-voice",
        "update-sip-media-application-call",
        "--sip-media-application-id",
        p["sip_media_application_id"],
        "--transaction-id",
        call_id,
        "--arguments",
        args,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"SipMediaApplicationCall": {"TransactionId": call_id}}
    assert wait_until(lambda: "ACTION_SUCCESSFUL" in invocations(emulator, call_id))
    bad = aws(
        emulator,
        "chime-sdk-voice",
        "update-sip-media-application-call",
        "--sip-media-application-id",
        p["sip_media_application_id"],
        "--transaction-id",
        call_id,
        "--arguments",
        "{}",
        secret="w" * 40,
    )
    assert bad.returncode != 0 and "ForbiddenException" in bad.stderr


def test_aws_cli_put_and_head_object(emulator: EmulatorServer, tmp_path: Path) -> None:
    p = profile(emulator)
    prompt = tmp_path / "cli.wav"
    prompt.write_bytes(wav_bytes(seconds=0.1))
    put = aws(
        emulator,
        "s3api",
        "put-object",
        "--bucket",
        p["bucket"],
        "--key",
        "tests/cli.wav",
        "--body",
        str(prompt),
        "--content-type",
        "audio/wav",
    )
    assert put.returncode == 0, put.stderr
    head = aws(emulator, "s3api", "head-object", "--bucket", p["bucket"], "--key", "tests/cli.wav")
    assert head.returncode == 0, head.stderr
    got = json.loads(head.stdout)
    assert (got["ContentType"], got["ContentLength"]) == ("audio/wav", prompt.stat().st_size)


def test_aws_cli_create_sip_media_application_call_then_callplay_plays(
    emulator: EmulatorServer, config_file: Path, cli: Any
) -> None:
    """The issue-14 acceptance: a runbook starts a test call with the AWS CLI and plays into it with callplay."""
    create = aws(
        emulator,
        "chime-sdk-voice",
        "create-sip-media-application-call",
        "--sip-media-application-id",
        profile(emulator)["sip_media_application_id"],
        "--from-phone-number",
        "+18005550100",
        "--to-phone-number",
        "+14255550199",
        "--arguments-map",
        '{"runbook": "smoke"}',
    )
    assert create.returncode == 0, create.stderr
    transaction = json.loads(create.stdout)["SipMediaApplicationCall"]["TransactionId"]
    wait_until(lambda: emulator_call(emulator, transaction)["state"] == "connected")
    played = cli("play", transaction, "--tts", "Runbook check", "--wait", "-p", "emulator-chime", "-o", "json")
    assert played.exit_code == 0, played.stderr
    assert played.json()["data"]["state"] == "finished"
    assert invocations(emulator, transaction) == [
        "NEW_OUTBOUND_CALL",
        "RINGING",
        "CALL_ANSWERED",
        "CALL_UPDATE_REQUESTED",
        "ACTION_SUCCESSFUL",
    ]
    blank = aws(
        emulator,
        "chime-sdk-voice",
        "update-sip-media-application-call",
        "--sip-media-application-id",
        profile(emulator)["sip_media_application_id"],
        "--transaction-id",
        " ",
        "--arguments",
        "{}",
    )
    assert blank.returncode != 0 and "BadRequestException" in blank.stderr
