"""--dry-run for SDKs on azure-core: run the real SDK call against a transport that records the request.

The SDK builds, serialises and signs the request exactly as it would for real; the transport keeps the
method, URL and body (never the headers, which carry the signature) and answers 202 without sending.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def capture_azure_request(endpoint: str, key: str, call_id: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(the call connection, what it sent): the connection's calls are recorded, not sent."""
    import requests
    from azure.communication.callautomation import CallAutomationClient
    from azure.core.credentials import AzureKeyCredential
    from azure.core.pipeline.transport import HttpTransport, RequestsTransportResponse

    captured: dict[str, Any] = {}

    class CaptureTransport(HttpTransport[Any, Any]):
        def send(self, request: Any, **kwargs: Any) -> Any:
            body = request.body if request.body is not None else b""
            text = body.decode() if isinstance(body, bytes) else str(body)
            captured.update(
                method=request.method,
                url=request.url,
                body=json.loads(text) if text else None,
            )
            response = requests.Response()
            response.status_code = 202
            response._content = b""
            response.headers["content-type"] = "application/json"
            return RequestsTransportResponse(request, response)

        def open(self) -> None:
            return None

        def close(self) -> None:
            return None

        def __enter__(self) -> CaptureTransport:
            return self

        def __exit__(self, *args: Any) -> None:
            return None

    client = CallAutomationClient(endpoint, AzureKeyCredential(key), transport=CaptureTransport(), retry_total=0)
    yield client.get_call_connection(call_id), captured
