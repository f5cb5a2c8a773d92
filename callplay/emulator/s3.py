"""The emulator's S3: just enough of the real API for Chime prompts, checked like S3 checks it.

Path-style requests (`/bucket/key`) signed with SigV4 (service `s3`): CreateBucket, HeadBucket,
DeleteBucket, GetBucketLocation, ListBuckets, ListObjects(V2), PutObject (aws-chunked bodies and
x-amz-checksum-* headers or trailers, as recent botocore sends them, verified), HeadObject, GetObject
(with a simple Range), DeleteObject. Errors are S3's XML bodies with S3's codes. Anything else answers
501 NotImplemented. Because `/bucket/key` paths could be anyone's, requests are routed here by the SigV4
credential scope (`.../s3/aws4_request`), in the Authorization header or a presigned URL's query.

`check_sigv4` is shared with the Chime face (service `chime`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from callplay.emulator.app import header

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_SKEW_S = 15 * 60  # AWS refuses requests signed more than 15 minutes away from its clock
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*$"
)
SUBRESOURCES = frozenset(
    {
        "acl",
        "policy",
        "tagging",
        "uploads",
        "uploadId",
        "partNumber",
        "versioning",
        "cors",
        "lifecycle",
        "website",
        "logging",
        "notification",
        "replication",
        "encryption",
        "ownershipControls",
        "publicAccessBlock",
        "object-lock",
        "retention",
        "legal-hold",
        "attributes",
        "restore",
        "select",
        "torrent",
        "accelerate",
        "analytics",
        "inventory",
        "metrics",
        "intelligent-tiering",
        "requestPayment",
        "versions",
        "delete",
    }
)

# (access key id) -> (secret access key, session token or None), or None for an unknown key
CredentialLookup = Callable[[str], tuple[str, str | None] | None]


# --------------------------------------------------------------------------------------------- SigV4


@dataclass
class AuthFailure:
    """Why a request's signature was refused; each face turns it into its own error shape."""

    kind: str  # missing | malformed | unknown_key | bad_token | region | skew | expired | signature
    message: str


@dataclass
class SigV4:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    presigned: bool = False
    expires: int = 0


def scope_service(scope: Scope) -> str | None:
    """The service named in a request's SigV4 credential scope (header or presigned query), if any."""
    auth = header(scope, "authorization")
    cred = ""
    if auth.startswith("AWS4-HMAC-SHA256"):
        match = re.search(r"Credential=([^,\s]+)", auth)
        cred = match.group(1) if match else ""
    else:
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        cred = (query.get("X-Amz-Credential") or [""])[0]
    parts = cred.split("/")
    return parts[3] if len(parts) == 5 else None


def _parse_auth(request: Request) -> SigV4 | AuthFailure:
    auth = request.headers.get("authorization", "")
    if auth:
        m = _AUTH_RE.match(auth)
        if not m:
            return AuthFailure("malformed", "Authorization header is not AWS4-HMAC-SHA256 Credential=..., ...")
        cred, signed, sig = m.groups()
        amz_date = request.headers.get("x-amz-date", "")
        return _sigv4(cred, signed, sig, amz_date, presigned=False, expires=0)
    q = request.query_params
    if q.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256":
        expires = q.get("X-Amz-Expires", "0")
        return _sigv4(
            q.get("X-Amz-Credential", ""),
            q.get("X-Amz-SignedHeaders", ""),
            q.get("X-Amz-Signature", ""),
            q.get("X-Amz-Date", ""),
            presigned=True,
            expires=int(expires) if expires.isdigit() else 0,
        )
    return AuthFailure("missing", "Request is missing Authentication Token")


def _sigv4(cred: str, signed: str, sig: str, amz_date: str, *, presigned: bool, expires: int) -> SigV4 | AuthFailure:
    parts = cred.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not signed or not sig:
        return AuthFailure("malformed", "the credential scope is not AKID/DATE/REGION/SERVICE/aws4_request")
    if not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != parts[1]:
        return AuthFailure("malformed", "X-Amz-Date is missing or does not match the credential scope's date")
    return SigV4(parts[0], parts[1], parts[2], parts[3], signed.split(";"), sig.lower(), amz_date, presigned, expires)


def check_sigv4(
    request: Request, body: bytes, *, service: str, region: str, lookup: CredentialLookup, now: float | None = None
) -> SigV4 | AuthFailure:
    """Verify a request's SigV4 signature with botocore's own canonicalisation (keeping the client's time)."""
    parsed = _parse_auth(request)
    if isinstance(parsed, AuthFailure):
        return parsed
    if parsed.service != service:
        return AuthFailure("malformed", f"Credential should be scoped to correct service: '{service}'")
    if parsed.region != region:
        return AuthFailure(
            "region", f"Credential should be scoped to a valid region, not '{parsed.region}'; expecting '{region}'"
        )
    known = lookup(parsed.access_key)
    if known is None:
        return AuthFailure("unknown_key", "The AWS Access Key Id you provided does not exist in our records.")
    secret, token = known
    sent_token = request.headers.get("x-amz-security-token") or request.query_params.get("X-Amz-Security-Token")
    if (sent_token or None) != token:
        return AuthFailure("bad_token", "The security token included in the request is invalid.")
    failure = _check_time(parsed, time.time() if now is None else now)
    if failure is not None:
        return failure
    expected = _expected_signature(request, body, parsed, secret, token)
    if not hmac.compare_digest(expected, parsed.signature):
        return AuthFailure(
            "signature",
            "The request signature we calculated does not match the signature you "
            "provided. Check your key and signing method.",
        )
    return parsed


def _check_time(parsed: SigV4, now: float) -> AuthFailure | None:
    signed_at = dt.datetime.strptime(parsed.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()
    if parsed.presigned:
        if now > signed_at + parsed.expires:
            return AuthFailure("expired", "Request has expired")
        return None
    if abs(now - signed_at) > MAX_SKEW_S:
        return AuthFailure("skew", "The difference between the request time and the current time is too large.")
    return None


def _expected_signature(request: Request, body: bytes, parsed: SigV4, secret: str, token: str | None) -> str:
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"").decode("latin-1")
    if parsed.presigned:  # the signature itself is not part of what was signed
        query = "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Signature="))
    host = request.headers.get("host", "")
    url = f"http://{host}{raw_path.decode('latin-1')}" + (f"?{query}" if query else "")
    headers = {name: request.headers.get(name, "") for name in parsed.signed_headers}
    aws = AWSRequest(method=request.method, url=url, headers=headers, data=body)
    aws.context["timestamp"] = parsed.amz_date
    creds = Credentials(parsed.access_key, secret, token)
    signer: Any
    if parsed.presigned:
        signer = S3SigV4QueryAuth(creds, parsed.service, parsed.region, expires=parsed.expires)
    elif parsed.service == "s3":
        signer = S3SigV4Auth(creds, parsed.service, parsed.region)
    else:
        signer = SigV4Auth(creds, parsed.service, parsed.region)
    canonical = signer.canonical_request(aws)
    return str(signer.signature(signer.string_to_sign(aws, canonical), aws))


# --------------------------------------------------------------------------------------------- store


@dataclass
class S3Object:
    data: bytes
    content_type: str
    etag: str
    last_modified: float
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Bucket:
    name: str
    created: float = field(default_factory=time.time)
    objects: dict[str, S3Object] = field(default_factory=dict)


class S3Store:
    """Buckets and objects, plus how often each key was PUT (tests check "uploaded once")."""

    def __init__(self) -> None:
        self.buckets: dict[str, Bucket] = {}
        self.puts: Counter[tuple[str, str]] = Counter()

    def create_bucket(self, name: str) -> Bucket:
        return self.buckets.setdefault(name, Bucket(name))

    def get(self, bucket: str, key: str) -> S3Object | None:
        b = self.buckets.get(bucket)
        return None if b is None else b.objects.get(key)

    def put(self, bucket: str, key: str, obj: S3Object) -> None:
        self.buckets[bucket].objects[key] = obj
        self.puts[(bucket, key)] += 1

    def put_count(self, bucket: str, key: str) -> int:
        return self.puts[(bucket, key)]


# ----------------------------------------------------------------------------------------- responses


def xml_response(root: str, inner: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{XMLNS}">{inner}</{root}>'
    return Response(body, status_code=status, media_type="application/xml", headers=headers)


def s3_error(status: int, code: str, message: str, *, head: bool = False, **extra: str) -> Response:
    request_id = hashlib.md5(f"{time.time_ns()}".encode(), usedforsecurity=False).hexdigest()[:16].upper()
    headers = {"x-amz-request-id": request_id}
    if head:  # S3 answers HEAD errors with the status alone
        return Response(status_code=status, headers=headers)
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in {"Code": code, "Message": message, **extra}.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{fields}<RequestId>{request_id}</RequestId></Error>'
    return Response(body, status_code=status, media_type="application/xml", headers=headers)


def auth_error(failure: AuthFailure, *, head: bool) -> Response:
    status, code = {
        "missing": (403, "AccessDenied"),
        "malformed": (400, "AuthorizationHeaderMalformed"),
        "region": (400, "AuthorizationHeaderMalformed"),
        "unknown_key": (403, "InvalidAccessKeyId"),
        "bad_token": (400, "InvalidToken"),
        "skew": (403, "RequestTimeTooSkewed"),
        "expired": (403, "AccessDenied"),
        "signature": (403, "SignatureDoesNotMatch"),
    }[failure.kind]
    return s3_error(status, code, failure.message, head=head)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


# ------------------------------------------------------------------------------------------ payloads


class BadPayload(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """(data, trailers) of an `aws-chunked` body: `<hex size>[;chunk-signature=..]\\r\\n<data>\\r\\n`...,
    a 0-size chunk, then trailer lines such as `x-amz-checksum-crc32:<base64>`."""
    out = bytearray()
    pos = 0
    try:
        while True:
            eol = body.index(b"\r\n", pos)
            size = int(body[pos:eol].split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                break
            out += body[pos : pos + size]
            pos += size
            if body[pos : pos + 2] != b"\r\n" or len(out) == 0:
                raise ValueError("chunk not terminated")
            pos += 2
    except ValueError:
        raise BadPayload(400, "IncompleteBody", "The aws-chunked body is malformed.") from None
    trailers = {}
    for line in body[pos:].split(b"\r\n"):
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            trailers[name.strip().lower()] = value.strip()
    return bytes(out), trailers


CHECKSUMS: dict[str, Callable[[bytes], bytes]] = {
    "crc32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "sha1": lambda d: hashlib.sha1(d, usedforsecurity=False).digest(),
    "sha256": lambda d: hashlib.sha256(d).digest(),
}


def verify_checksums(data: bytes, headers: dict[str, str]) -> None:
    """Check Content-MD5 and every x-amz-checksum-* we can compute; S3 answers 400 BadDigest otherwise.
    (CRC32C and CRC64NVME need libraries the emulator does not carry: they are accepted unchecked.)"""
    md5 = headers.get("content-md5")
    if md5 and base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode() != md5:
        raise BadPayload(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    for name, fn in CHECKSUMS.items():
        sent = headers.get(f"x-amz-checksum-{name}")
        if sent and base64.b64encode(fn(data)).decode() != sent:
            raise BadPayload(
                400, "BadDigest", f"The {name.upper()} you specified did not match the calculated checksum."
            )


async def read_payload(request: Request, body: bytes) -> bytes:
    """The object bytes of a PUT: aws-chunked decoded, declared lengths and checksums checked."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    data = body
    encodings = [e.strip() for e in headers.get("content-encoding", "").split(",") if e.strip()]
    declared_hash = headers.get("x-amz-content-sha256", "")
    if "aws-chunked" in encodings or declared_hash.startswith("STREAMING-"):
        data, trailers = decode_aws_chunked(body)
        decoded = headers.get("x-amz-decoded-content-length")
        if decoded is not None and decoded.isdigit() and int(decoded) != len(data):
            raise BadPayload(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the x-amz-decoded-content-length header.",
            )
        headers.update(trailers)
    elif re.fullmatch(r"[0-9a-f]{64}", declared_hash) and hashlib.sha256(body).hexdigest() != declared_hash:
        raise BadPayload(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    verify_checksums(data, headers)
    return data


# ------------------------------------------------------------------------------------------- the API


class S3Api:
    """The ASGI app for S3 requests (already known to carry an s3 credential scope)."""

    def __init__(self, store: S3Store, *, region: str, lookup: CredentialLookup) -> None:
        self.store = store
        self.region = region
        self.lookup = lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        head = request.method == "HEAD"
        body = await request.body()
        auth = check_sigv4(request, body, service="s3", region=self.region, lookup=self.lookup)
        if isinstance(auth, AuthFailure):
            return auth_error(auth, head=head)
        bucket, key = self._target(request.url.path)
        sub = SUBRESOURCES & set(request.query_params)
        if sub:
            return s3_error(501, "NotImplemented", f"The emulator does not implement ?{sorted(sub)[0]}.", head=head)
        try:
            if not bucket:
                return self._list_buckets() if request.method == "GET" else self._not_implemented(request)
            if not key:
                return self._bucket_op(request, bucket)
            return await self._object_op(request, bucket, key, body)
        except BadPayload as exc:
            return s3_error(exc.status, exc.code, exc.message, head=head)

    @staticmethod
    def _target(path: str) -> tuple[str, str]:
        bucket, _, key = path.lstrip("/").partition("/")
        return bucket, key

    def _not_implemented(self, request: Request) -> Response:
        return s3_error(
            501,
            "NotImplemented",
            f"The emulator does not implement {request.method} here.",
            head=request.method == "HEAD",
        )

    # -- buckets -----------------------------------------------------------------------------------------

    def _list_buckets(self) -> Response:
        buckets = "".join(
            f"<Bucket><Name>{escape(b.name)}</Name><CreationDate>{_iso(b.created)}</CreationDate></Bucket>"
            for b in sorted(self.store.buckets.values(), key=lambda b: b.name)
        )
        return xml_response(
            "ListAllMyBucketsResult", f"<Owner><ID>callplay-emulator</ID></Owner><Buckets>{buckets}</Buckets>"
        )

    def _bucket_op(self, request: Request, name: str) -> Response:
        method = request.method
        bucket = self.store.buckets.get(name)
        if method == "PUT":
            if bucket is not None:
                return s3_error(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                    BucketName=name,
                )
            self.store.create_bucket(name)
            return Response(status_code=200, headers={"Location": f"/{name}"})
        if bucket is None:
            return s3_error(
                404, "NoSuchBucket", "The specified bucket does not exist", head=method == "HEAD", BucketName=name
            )
        if method == "HEAD":
            return Response(status_code=200, headers={"x-amz-bucket-region": self.region})
        if method == "DELETE":
            if bucket.objects:
                return s3_error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty", BucketName=name)
            del self.store.buckets[name]
            return Response(status_code=204)
        if method == "GET" and "location" in request.query_params:
            location = "" if self.region == "us-east-1" else self.region
            return xml_response("LocationConstraint", escape(location))
        if method == "GET":
            return self._list_objects(request, bucket)
        return self._not_implemented(request)

    def _list_objects(self, request: Request, bucket: Bucket) -> Response:
        q = request.query_params
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        max_keys = int(q.get("max-keys", "1000")) if q.get("max-keys", "1000").isdigit() else 1000
        after = q.get("continuation-token") or q.get("start-after") or q.get("marker") or ""
        encode = q.get("encoding-type") == "url"
        keys = sorted(k for k in bucket.objects if k.startswith(prefix) and k > after)
        contents: list[str] = []
        prefixes: list[str] = []
        last = ""
        for key in keys:
            if len(contents) + len(prefixes) >= max_keys:
                break
            rest = key[len(prefix) :]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter)[0] + delimiter
                if common not in prefixes:
                    prefixes.append(common)
                last = key
                continue
            contents.append(key)
            last = key
        truncated = bool(keys) and last != keys[-1] and len(contents) + len(prefixes) >= max_keys
        inner = self._listing(
            bucket,
            prefix,
            contents,
            prefixes,
            encode=encode,
            max_keys=max_keys,
            truncated=truncated,
            next_token=last if truncated else "",
        )
        return xml_response("ListBucketResult", inner)

    def _listing(
        self,
        bucket: Bucket,
        prefix: str,
        contents: list[str],
        prefixes: list[str],
        *,
        encode: bool,
        max_keys: int,
        truncated: bool,
        next_token: str,
    ) -> str:
        def enc(text: str) -> str:
            return escape(urllib.parse.quote(text, safe="/") if encode else text)

        items = "".join(
            f"<Contents><Key>{enc(k)}</Key><LastModified>{_iso(o.last_modified)}</LastModified>"
            f"<ETag>{escape(o.etag)}</ETag><Size>{len(o.data)}</Size><StorageClass>STANDARD</StorageClass></Contents>"
            for k, o in ((k, bucket.objects[k]) for k in contents)
        )
        commons = "".join(f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in prefixes)
        parts = [
            f"<Name>{escape(bucket.name)}</Name><Prefix>{enc(prefix)}</Prefix>",
            f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
            f"<NextContinuationToken>{escape(next_token)}</NextContinuationToken>" if truncated else "",
            "<EncodingType>url</EncodingType>" if encode else "",
            items,
            commons,
        ]
        return "".join(parts)

    # -- objects -----------------------------------------------------------------------------------------

    async def _object_op(self, request: Request, bucket_name: str, key: str, body: bytes) -> Response:
        method = request.method
        head = method == "HEAD"
        if bucket_name not in self.store.buckets:
            return s3_error(
                404, "NoSuchBucket", "The specified bucket does not exist", head=head, BucketName=bucket_name
            )
        if method == "PUT":
            if request.headers.get("x-amz-copy-source"):
                return s3_error(501, "NotImplemented", "The emulator does not implement CopyObject.")
            return await self._put_object(request, bucket_name, key, body)
        if method == "DELETE":
            self.store.buckets[bucket_name].objects.pop(key, None)
            return Response(status_code=204)
        if method not in ("GET", "HEAD"):
            return self._not_implemented(request)
        obj = self.store.get(bucket_name, key)
        if obj is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.", head=head, Key=key)
        return self._get_object(request, obj)

    async def _put_object(self, request: Request, bucket: str, key: str, body: bytes) -> Response:
        data = await read_payload(request, body)
        etag = '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'
        metadata = {k[len("x-amz-meta-") :]: v for k, v in request.headers.items() if k.startswith("x-amz-meta-")}
        ctype = request.headers.get("content-type") or "binary/octet-stream"
        self.store.put(bucket, key, S3Object(data, ctype, etag, time.time(), metadata))
        return Response(status_code=200, headers={"ETag": etag})

    def _get_object(self, request: Request, obj: S3Object) -> Response:
        headers = {
            "ETag": obj.etag,
            "Last-Modified": _http_date(obj.last_modified),
            "Accept-Ranges": "bytes",
            **{f"x-amz-meta-{k}": v for k, v in obj.metadata.items()},
        }
        data, status = obj.data, 200
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if ranged and obj.data:
            start = int(ranged.group(1))
            end = min(int(ranged.group(2) or len(obj.data) - 1), len(obj.data) - 1)
            if start > end:
                return s3_error(416, "InvalidRange", "The requested range is not satisfiable")
            data, status = obj.data[start : end + 1], 206
            headers["Content-Range"] = f"bytes {start}-{end}/{len(obj.data)}"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return Response(status_code=status, headers=headers, media_type=obj.content_type)
        return Response(data, status_code=status, headers=headers, media_type=obj.content_type)
