"""GetBucketVersioning answered with S3's own document root.

moto serializes the answer with its generic serializer, whose root element is
`GetBucketVersioningResponse`. S3 answers `<VersioningConfiguration>` (with `<Status>` only
once versioning was ever set: a never-versioned bucket's document is empty), and
aws-sdk-s3 refuses any other root ("expected VersioningConfiguration"), so the lever's
publisher, which checks that the switch bucket still keeps its history, could not read it.
The shim writes S3's document from moto's backend state.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def get_bucket_versioning(self: S3Response) -> tuple[int, dict[str, str], str]:
    self.data["Action"] = "GetBucketVersioning"
    status: Any = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{escape(status)}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="{NAMESPACE}">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


def install() -> None:
    S3Response.get_bucket_versioning = get_bucket_versioning  # type: ignore[method-assign]
