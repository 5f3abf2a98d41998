"""Uploaded statistics files: bounded reading, type by content, parsing off the event loop."""

import hashlib
from collections.abc import Mapping
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


# Words that only the province's own sheet carries in 填报单位 or a row label.
PROVINCE_MARKERS = ("合计", "全省", "省人力资源", "江苏省人社")


def check_whose(sheet: ParsedSheet, city: str, names: Mapping[str, str]) -> None:
    """The sheet must be the path's city's own: 填报单位 and the value rows' labels may not
    name another city of the campaign, nor the province. `names`: city code -> name."""
    own = names.get(city, city)
    errors: list[FieldError] = []
    found = [(sheet.unit_name, sheet.unit_cell, "填报单位")] if sheet.unit_name else []
    found += [(label, cell, "the row label") for label, cell in sheet.row_labels]
    for text, cell, what in found:
        assert text is not None
        other = next(
            (code for code, name in names.items() if name.removesuffix("市") in text), None
        )
        if any(marker in text for marker in PROVINCE_MARKERS):
            message = f"{what} {text!r} is the province's: upload {own}'s own table"
            errors.append(FieldError("file", "province_sheet", message, extra={"cell": cell}))
        elif other is not None and other != city:
            message = f"{what} {text!r} is {names[other]}'s, but this upload is for {own}"
            errors.append(FieldError("file", "wrong_city", message, extra={"cell": cell}))
    if errors:
        raise InvalidInput(f"the file is not {own}'s table; nothing was stored", errors=errors)


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
            errors=[
                FieldError(
                    "file",
                    "unreadable",
                    f"{cell}: {message}" if cell else message,
                    extra={"cell": cell},
                )
                for message, cell in exc.problems
            ],
        ) from exc
    return ParsedUpload(kind, sheet, hashlib.sha256(data).hexdigest())


async def read_upload(upload: UploadFile, table: Table, settings: Settings) -> ParsedUpload:
    data = await read_bounded(upload, settings.max_import_bytes)
    if not data:
        raise InvalidInput("the file is empty", errors=[FieldError("file", "empty", "no bytes")])
    return await run_in_threadpool(parse_upload, data, table, settings.max_import_rows)
