"""Uploaded statistics files: bounded reading, type by content, parsing off the event loop."""

import hashlib
from dataclasses import dataclass
from typing import Literal

from fastapi import UploadFile
from fastapi.concurrency import run_in_threadpool

from app.campaigns.definition import Table
from app.core.errors import FieldError, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.core.settings import Settings
from app.reporting.spreadsheets import ParsedSheet, SpreadsheetError, parse_csv, parse_xlsx

CHUNK = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ParsedUpload:
    format: Literal["xlsx", "csv"]
    sheet: ParsedSheet
    sha256: str


async def read_bounded(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"the file is larger than {limit} bytes",
                errors=[FieldError("file", "too_large", f"at most {limit} bytes")],
            )
        chunks.append(chunk)
    return b"".join(chunks)


def detect_format(data: bytes) -> Literal["xlsx", "csv"]:
    """By content, never by name or declared type."""
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if b"\x00" not in data[:4096]:
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        else:
            return "csv"
    raise UnsupportedMediaType(
        "the file is neither an .xlsx workbook nor a UTF-8 CSV",
        errors=[FieldError("file", "unsupported_type", "upload the official .xlsx or a CSV")],
    )


def parse_upload(data: bytes, table: Table, max_rows: int) -> ParsedUpload:
    kind = detect_format(data)
    try:
        sheet = (
            parse_xlsx(data, table, max_rows=max_rows)
            if kind == "xlsx"
            else parse_csv(data, table, max_rows=max_rows)
        )
    except SpreadsheetError as exc:
        raise InvalidInput(
            f"the {kind} file cannot be read: {exc}; nothing was stored",
            errors=[FieldError("file", "unreadable", str(exc), extra={"cell": exc.cell})],
        ) from exc
    return ParsedUpload(kind, sheet, hashlib.sha256(data).hexdigest())


async def read_upload(upload: UploadFile, table: Table, settings: Settings) -> ParsedUpload:
    data = await read_bounded(upload, settings.max_import_bytes)
    if not data:
        raise InvalidInput("the file is empty", errors=[FieldError("file", "empty", "no bytes")])
    return await run_in_threadpool(parse_upload, data, table, settings.max_import_rows)
