"""Where a playback's callbacks go, and how callplay's receivers tell them from strangers' posts.

Both come from the provider's declared Capabilities: `callback_auth` says whether a token rides in the
callback URL's query or the provider signs each callback, and `callback_secret_setting` names the profile
setting that holds the token or the signing secret.

A token provider's callbacks are always authenticated: when the profile sets no token, callplay mints one
per profile and keeps it in its state dir (mode 0600), so that `play` (which puts it in the callback URL it
sends) and `events listen` (which checks it) agree across processes. `play --wait` uses a fresh token per
run instead: its receiver is its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from callplay.errors import ConfigError, UsageError
from callplay.model import PlayRequest
from callplay.redact import MASK, TOKEN_PARAM

if TYPE_CHECKING:
    from callplay.config import Profile
    from callplay.core.session import Session
    from callplay.events.receiver import EventReceiver
    from callplay.providers.base import Capabilities

TOKEN_DIR = "callback-tokens"


def callback_url_for(s: Session, url: str | None, *, mint: bool = True) -> str | None:
    """The URL this playback's callbacks go to: `url` (--callback-url) or the profile's callback_url, with
    the profile's token when the provider's callbacks are authenticated by one. mint=False (dry runs) never
    creates a token: a placeholder stands in for one not made yet (it is masked when shown anyway)."""
    base = url or s.profile.get("callback_url")
    if not base:
        return None
    if s.caps.callback_auth != "url_token":
        return str(base)
    if mint and s.ledger.shared and not _configured(s):
        # A token minted here lives in this machine's state dir: the team's receivers (other machines, other
        # replicas) would refuse every callback this playback sends.
        setting = s.caps.callback_secret_setting or "callback_token"
        raise ConfigError(
            f"profile {s.profile.name} has no {setting}, and the ledger is shared: callplay cannot mint one "
            "that the team's receivers know",
            f"set {setting}_env (or {setting}) in the profile, the same on every machine and receiver",
        )
    token = profile_secret(s.profile, s.caps, mint=mint) or MASK
    return with_token(str(base), token)


def with_token(url: str, token: str | None) -> str:
    """`url` with token=TOKEN in its query, replacing any token already there (callplay owns the name)."""
    if not token:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if all(k != TOKEN_PARAM for k, _ in query):  # the usual case: the rest of the URL stays byte for byte
        added = f"{TOKEN_PARAM}={quote(token, safe='')}"
        return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))
    kept = [(k, v) for k, v in query if k != TOKEN_PARAM]
    return urlunsplit(parts._replace(query=urlencode([*kept, (TOKEN_PARAM, token)])))


def profile_secret(profile: Profile, caps: Capabilities, *, mint: bool = True) -> str | None:
    """The token or signing secret the profile's callbacks are checked with: the profile's setting, else for
    a token provider the one callplay keeps for the profile (made now when there is none yet and `mint`)."""
    setting = caps.callback_secret_setting
    value = profile.get(setting) if setting else None
    if value:
        return str(value)
    if caps.callback_auth != "url_token":
        return None
    return stored_token(profile.name, create=mint)


def stored_token(profile_name: str, *, create: bool = True) -> str | None:
    """The token callplay minted for this profile, minting it on first use (create=True). Two processes
    minting at once agree: the file is linked into place only if none is there, and the loser reads it."""
    from callplay.config import state_dir

    path = _token_path(state_dir(), profile_name)
    with contextlib.suppress(FileNotFoundError):
        return _read_token(path)
    if not create:
        return None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".new-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        try:
            os.link(tmp, path)  # atomic and exclusive: never a half-written or replaced token
        except FileExistsError:
            pass  # another process minted it first: theirs is the token
        except OSError:  # a file system without hard links: an exclusive create does nearly as well
            with contextlib.suppress(FileExistsError):
                _create_exclusive(path, token)
    finally:
        os.unlink(tmp)
    return _read_token(path)


def _create_exclusive(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")


def _token_path(state: Path, profile_name: str) -> Path:
    # Percent-encoded (dots too): any profile name is one plain file name inside the directory.
    return state / TOKEN_DIR / (quote(profile_name, safe="-_").replace(".", "%2E") + ".token")


def _read_token(path: Path) -> str:
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise FileNotFoundError(path)  # an empty file is no token: mint (or report) as if absent
    return token


def start_receiver(s: Session, request: PlayRequest, listen: str | None) -> EventReceiver:
    """A receiver for --wait, on 127.0.0.1 or --listen HOST:PORT; points the request's callback URL at it
    unless the user gave one (a tunnel's public URL). Only the profile's provider's path is served: the
    others are refused (401) for want of a secret."""
    from callplay.events.receiver import EventReceiver

    host, port = _listen_address(listen)
    name, caps = s.provider.name, s.caps
    secret = _configured(s)
    if caps.callback_auth == "url_token":
        # Our own receiver is reached directly: a per-run token keeps strangers' posts out, and a captured
        # callback URL is worthless after the run.
        secret = secret or secrets.token_urlsafe(16)
    elif not secret:
        # Refusing them would make --wait wait for nothing: take them unchecked, and say so.
        s.warnings.append(
            f"{name} callbacks to this run are not authenticated: the profile has no "
            f"{caps.callback_secret_setting or 'signing secret'}, so anyone who can reach the receiver can post "
            "events for this playback"
        )
    unchecked = () if secret else (name,)
    receiver = EventReceiver(s.ledger, host=host, port=port, secrets={name: secret}, allow_unsigned=unchecked)
    receiver.start()
    url = request.callback_url or receiver.url(name)
    if caps.callback_auth == "url_token":
        request.callback_url = with_token(url, secret)
        receiver.public_urls.pop(name, None)  # the token is checked in the URL the request really came to
    else:
        request.callback_url = url
        receiver.public_urls[name] = url  # a signature may cover the URL the provider was given
    return receiver


def _configured(s: Session) -> str | None:
    setting = s.caps.callback_secret_setting
    value = s.profile.get(setting) if setting else None
    return str(value) if value else None


def known_secrets(profile: Profile) -> frozenset[str]:
    """Every secret value of the profile (its settings marked secret, and the token callplay keeps for it),
    for masking whatever callplay is about to show."""
    from callplay.config import is_secret

    model = type(profile.settings)
    values = {str(getattr(profile.settings, k)) for k in model.model_fields if is_secret(model, k)}
    values.add(stored_token(profile.name, create=False) or "")
    return frozenset(v for v in values if v and v != "None")


def _listen_address(listen: str | None) -> tuple[str, int]:
    if not listen:
        return "127.0.0.1", 0
    host, _, port_text = listen.rpartition(":")
    if not port_text.isdigit():
        raise UsageError(f"--listen {listen!r} is not HOST:PORT", "e.g. --listen 0.0.0.0:8080")
    return host or "127.0.0.1", int(port_text)
