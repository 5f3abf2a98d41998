from datetime import datetime

from pydantic import BaseModel, Field

from app.attachments.models import OWNER_COLLECTIONS, Attachment
from app.attachments.sniff import FILE_TYPES, Kind

ACCEPTED = ", ".join(f"{t.id.upper()} ({t.media_type})" for t in FILE_TYPES)


class AttachmentOut(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 17,
                    "filename": "招聘会现场.jpg",
                    "content_type": "image/jpeg",
                    "kind": "picture",
                    "size": 482113,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "declared_type": "image/jpeg",
                    "uploaded_by": "reporter-320100-1a2b3c4d",
                    "received_at": "2024-02-02T08:15:00Z",
                    "url": "/api/v1/campaigns/js-2024/cities/320100/cases/5/attachments/17",
                }
            ]
        }
    }

    id: int
    filename: str = Field(description="The uploader's name, made safe; extension per content")
    content_type: str = Field(description="Decided by the file's content")
    kind: Kind
    size: int = Field(description="Bytes")
    sha256: str = Field(description="SHA-256 of the bytes, hex")
    declared_type: str | None = Field(description="What the uploader claimed; not trusted")
    uploaded_by: str
    received_at: datetime
    url: str = Field(description="Where to download it (same access rules as its record)")


def attachment_out(row: Attachment) -> AttachmentOut:
    assert row.id is not None
    collection = OWNER_COLLECTIONS[row.owner_type]
    return AttachmentOut(
        id=row.id,
        filename=row.filename,
        content_type=row.media_type,
        kind=Kind(row.kind),
        size=row.size_bytes,
        sha256=row.sha256,
        declared_type=row.declared_type,
        uploaded_by=row.uploaded_by,
        received_at=row.received_at,
        url=f"/api/v1/campaigns/{row.campaign_id}/cities/{row.city_code}/{collection}/"
        f"{row.owner_id}/attachments/{row.id}",
    )
