"""`callplay chime lambda-package`: a deployable zip of the reference handler (not itself deployed)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from callplay.errors import UsageError
from callplay.output import FIELD_VALUE, TableSpec

HANDLER = "handler.lambda_handler"
RUNTIME = "python3.12"  # any Python 3.11+ Lambda runtime works; the handler needs only the standard library
FILES = ("handler.py", "hooks.py", "README.md")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same callplay version writes the same zip


@dataclass
class LambdaPackage:
    path: str
    files: list[str]
    sha256: str
    handler: str = HANDLER
    runtime: str = RUNTIME
    environment: dict[str, str] = field(
        default_factory=lambda: {"CALLPLAY_EVENTS_SECRET": "the profile's callback_secret (optional; signs events)"}
    )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def to_tables(self) -> list[TableSpec]:
        rows = [
            ["zip", self.path],
            ["files", ", ".join(self.files)],
            ["handler", self.handler],
            ["runtime", f"{self.runtime} (or any Python 3.11+)"],
            ["sha256", self.sha256],
        ]
        rows += [["env", f"{k}: {v}"] for k, v in self.environment.items()]  # a short label leaves room for sha256
        return [
            TableSpec(
                "Chime Lambda package",
                FIELD_VALUE,
                rows,
                caption="set the function's handler as shown; edit hooks.py for your own call flow",
                ids=("zip", "handler", "sha256"),
            )
        ]


def build(out: Path, hooks_file: Path | None = None) -> LambdaPackage:
    """Write the zip whole or not at all (callplay.fileio); `hooks_file` replaces the default hooks.py."""
    from callplay.fileio import check_output, write_output

    check_output(out, option="--out", example="callplay-chime.zip")
    contents = {name: resources.files("callplay.chime_lambda").joinpath(name).read_bytes() for name in FILES}
    if hooks_file is not None:
        try:
            contents["hooks.py"] = hooks_file.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {hooks_file}: {exc.strerror}", "give your hooks.py with --hooks") from None
        if b"def user_hook" not in contents["hooks.py"]:
            raise UsageError(f"{hooks_file} defines no user_hook(event)", "start from the default hooks.py")
    archive = _zip(contents)
    write_output(out, archive, option="--out", example="callplay-chime.zip")
    return LambdaPackage(str(out), list(contents), hashlib.sha256(archive).hexdigest())


def _zip(contents: dict[str, bytes]) -> bytes:
    """The zip in memory (a few kB): hashed as written, also when --out is a pipe that cannot be read back."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()
