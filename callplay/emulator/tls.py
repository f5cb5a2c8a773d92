"""A local CA and a server certificate for the emulator's TLS port (the Vonage SDK only speaks https)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callplay.fileio import write_bytes


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path  # give this to clients (REQUESTS_CA_BUNDLE, the profile's ca_file)
    cert_file: Path
    key_file: Path


def make_tls(directory: Path) -> TlsFiles:
    """Make a fresh CA and a certificate for 127.0.0.1, localhost and ::1 in `directory` (0700)."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca = trustme.CA(organization_name="callplay emulator CA")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    # Whole files (an emulator restarting in the same --state-dir never serves half a key), the key 0600 from
    # the start rather than chmod-ed after it was written.
    write_bytes(files.ca_file, ca.cert_pem.bytes())
    write_bytes(files.cert_file, b"".join(pem.bytes() for pem in cert.cert_chain_pems))
    write_bytes(files.key_file, cert.private_key_pem.bytes(), secret=True)
    return files
