"""Keeping secrets out of what callplay shows: query-string credentials in URLs, and known secret values.

callplay's own callback token rides in the callback URL's query (`token=`), so any URL it prints may carry
one; the usual names for signatures and tokens in pre-signed URLs (S3, Azure SAS) are masked the same way.
Output (callplay/output.py) passes everything it prints through `mask_url_secrets`; a dry run also replaces
the profile's own secret values wherever they appear.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
TOKEN_PARAM = "token"  # the query parameter a token provider's callback URL carries
SECRET_PARAMS = frozenset(
    {TOKEN_PARAM, "access_token", "secret", "sig", "signature", "x-amz-signature", "x-amz-security-token"}
)
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:" + "|".join(re.escape(p) for p in sorted(SECRET_PARAMS)) + r")=)[^&#\s\"'<>]*"
)
MIN_KNOWN_SECRET = 4  # a 1-3 character "secret" would mask half the output; a real one is longer


def mask_url_secrets(text: str) -> str:
    """`text` with the value of every secret-named query parameter in it replaced by ***."""
    return _SECRET_QUERY.sub(r"\g<1>" + MASK, text) if "=" in text else text


def redact(value: Any, known: frozenset[str] = frozenset()) -> Any:
    """A copy of a JSON-like value with URL secrets masked in every string (keys too) and each of the `known`
    secret values replaced."""
    if isinstance(value, str):
        text = mask_url_secrets(value)
        for secret in known:
            if len(secret) >= MIN_KNOWN_SECRET:
                text = text.replace(secret, MASK)
        return text
    if isinstance(value, dict):
        return {redact(k, known) if isinstance(k, str) else k: redact(v, known) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, known) for v in value]
    return value
