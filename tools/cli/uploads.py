"""Upload files to the uploads bucket, the way a client would; each upload is one asset."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from media_shared.ids import asset_id
from tools.cli.errors import CliError
from tools.localstack.target import Target

DEFAULT_PREFIX = "incoming/"


@dataclass(frozen=True)
class Upload:
    file: Path
    bucket: str
    key: str
    version_id: str | None
    asset_id: str
    size: int
    uploaded_at: float  # epoch seconds, when the PutObject returned


def upload(
    target: Target, files: Iterable[Path | str], prefix: str = DEFAULT_PREFIX
) -> list[Upload]:
    """PutObject every file under ``prefix``; the uploads with their (version-aware) asset ids."""
    paths = [Path(f) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CliError(f"not a file: {', '.join(missing)}")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    bucket = target.bucket("uploads")
    done = []
    for path in paths:
        key = f"{prefix}{path.name}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        try:
            with path.open("rb") as body:
                response = target.s3.put_object(
                    Bucket=bucket, Key=key, Body=body, ContentType=content_type
                )
        except (BotoCoreError, ClientError) as error:
            raise CliError(f"upload of {path} to s3://{bucket}/{key} failed: {error}") from error
        version = response.get("VersionId")
        done.append(
            Upload(
                file=path,
                bucket=bucket,
                key=key,
                version_id=version,
                asset_id=asset_id(bucket, key, version),
                size=path.stat().st_size,
                uploaded_at=time.time(),
            )
        )
    return done
