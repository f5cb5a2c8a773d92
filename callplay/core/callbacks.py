"""Where a playback's callbacks go, and how callplay's receiver tells them from strangers' posts.

Both come from the provider's declared Capabilities: `callback_auth` says whether a token rides in the
callback URL's query or the provider signs each callback, and `callback_secret_setting` names the profile
setting that holds the token or the signing secret.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from callplay.errors import UsageError
from callplay.model import PlayRequest

if TYPE_CHECKING:
    from callplay.core.session import Session
    from callplay.events.receiver import EventReceiver


def profile_callback_url(s: Session) -> str | None:
    """The profile's callback_url, with its token when callbacks are authenticated by one."""
    base = s.profile.get("callback_url")
    if not base:
        return None
    token = _configured_secret(s) if s.caps.callback_auth == "url_token" else None
    return with_token(str(base), token)


def with_token(url: str, token: str | None) -> str:
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}token={token}"


def start_receiver(s: Session, request: PlayRequest, listen: str | None) -> EventReceiver:
    """A receiver for --wait, on 127.0.0.1 or --listen HOST:PORT; points the request's callback URL at it
    unless the user gave one (a tunnel's public URL)."""
    from callplay.events.receiver import EventReceiver

    host, port = _listen_address(listen)
    name, caps = s.provider.name, s.caps
    secret = _configured_secret(s)
    if caps.callback_auth == "url_token":
        # Our own receiver is reached directly: a per-run token keeps strangers' posts out.
        secret = secret or secrets.token_urlsafe(16)
    receiver = EventReceiver(s.ledger, host=host, port=port, secrets={name: secret}).start()
    url = request.callback_url or receiver.url(name)
    if caps.callback_auth == "url_token":
        request.callback_url = with_token(url, secret)
        receiver.public_urls.pop(name, None)  # the token is checked in the URL the request really came to
    else:
        request.callback_url = url
        receiver.public_urls[name] = url  # a signature may cover the URL the provider was given
    return receiver


def _configured_secret(s: Session) -> str | None:
    setting = s.caps.callback_secret_setting
    value = s.profile.get(setting) if setting else None
    return str(value) if value else None


def _listen_address(listen: str | None) -> tuple[str, int]:
    if not listen:
        return "127.0.0.1", 0
    host, _, port_text = listen.rpartition(":")
    if not port_text.isdigit():
        raise UsageError(f"--listen {listen!r} is not HOST:PORT", "e.g. --listen 0.0.0.0:8080")
    return host or "127.0.0.1", int(port_text)
