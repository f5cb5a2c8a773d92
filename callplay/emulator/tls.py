"""A local CA and a server certificate for the emulator's TLS port (the Vonage SDK only speaks https)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    ca.cert_pem.write_to_path(str(files.ca_file))
    cert.cert_chain_pems[0].write_to_path(str(files.cert_file))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(files.cert_file), append=True)
    cert.private_key_pem.write_to_path(str(files.key_file))
    files.key_file.chmod(0o600)
    return files
