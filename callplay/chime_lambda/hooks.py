"""Your part of the SIP media application's Lambda: edit `user_hook` to run your own call flow.

callplay's handler (handler.py) answers the CALL_UPDATE_REQUESTED events that carry callplay's arguments
and reports the outcome of its own actions; every other invocation (NEW_INBOUND_CALL, NEW_OUTBOUND_CALL,
RINGING, CALL_ANSWERED, DIGITS_RECEIVED, HANGUP, your own CALL_UPDATE_REQUESTED arguments, and the
ACTION_* results of your own actions) is passed here unchanged. Return a SIP media application response.
Standard library only, like the handler, so the zip stays dependency-free.
"""

from __future__ import annotations

from typing import Any


def user_hook(event: dict[str, Any]) -> dict[str, Any]:
    """The response for an event callplay does not handle: by default no actions (keep what runs).

    Example, greeting an inbound caller:
        if event.get("InvocationEventType") == "NEW_INBOUND_CALL":
            return {"SchemaVersion": "1.0", "Actions": [{"Type": "Speak", "Parameters": {
                "CallId": event["CallDetails"]["Participants"][0]["CallId"], "Text": "Hello"}}]}
    TransactionAttributes you return are kept; callplay's own keys (callplay_*) are preserved for you.
    """
    return {"SchemaVersion": "1.0", "Actions": []}
