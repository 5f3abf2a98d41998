"""Receiving one file from a multipart/form-data request, as it streams in.

The body is parsed incrementally (python-multipart's push parser); the file's bytes are
typed by their signature before anything touches the disk, counted against the limit of
their kind, hashed, written to a staged file and checked structurally at the end. Any
refusal discards the staged file: a refused upload leaves nothing behind.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from anyio import to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from app.attachments.sniff import HEAD_SIZE, FileType, Inspector, describe, detect, inspector_for
from app.attachments.sniff import Kind as FileKind
from app.attachments.storage import StagedFile, Storage
from app.core.errors import FieldError, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.core.settings import Settings

FILE_FIELD = "file"
WRITE_BATCH = 1024 * 1024  # bytes gathered before one (threaded) write to storage
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers, beyond the file itself
MAX_FILENAME_BYTES = 1024


@dataclass(frozen=True)
class UploadLimits:
    picture: int
    video: int
    document: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "UploadLimits":
        return cls(
            settings.max_picture_bytes, settings.max_video_bytes, settings.max_document_bytes
        )

    def for_kind(self, kind: FileKind) -> int:
        return {FileKind.picture: self.picture, FileKind.video: self.video}.get(kind, self.document)

    @property
    def largest(self) -> int:
        return max(self.picture, self.video, self.document)


@dataclass
class ReceivedFile:
    filetype: FileType
    filename: str | None
    declared_type: str | None
    size: int
    sha256: str
    staged: StagedFile


def _file_error(code: str, message: str) -> list[FieldError]:
    return [FieldError(FILE_FIELD, code, message)]


class FileSink:
    """Checks and stages one file's bytes. `feed` and `finish` block (disk or network):
    call them from a worker thread."""

    def __init__(self, storage: Storage, limits: UploadLimits) -> None:
        self._storage = storage
        self._limits = limits
        self._pending = b""  # the first bytes, until there are enough to tell the type
        self.filetype: FileType | None = None
        self._inspector: Inspector | None = None
        self._staged: StagedFile | None = None
        self._hash = hashlib.sha256()
        self.size = 0

    def feed(self, data: bytes) -> None:
        if self.filetype is None:
            self._pending += data
            if len(self._pending) < HEAD_SIZE:
                return
            data, self._pending = self._pending, b""
            self._start(data[:HEAD_SIZE])
        self._write(data)

    def _start(self, head: bytes) -> None:
        self.filetype = detect(head)
        if self.filetype is None:
            raise UnsupportedMediaType(
                f"the file is {describe(head)}; accepted are JPEG, PNG and WebP pictures, "
                "MP4 video, PDF and DOCX documents (decided by the content, not the name)",
                errors=_file_error("unsupported_type", "not an accepted file type"),
            )
        self._inspector = inspector_for(self.filetype)
        self._staged = self._storage.stage()

    def _write(self, data: bytes) -> None:
        assert self.filetype is not None and self._inspector and self._staged
        self.size += len(data)
        limit = self._limits.for_kind(self.filetype.kind)
        if self.size > limit:
            raise PayloadTooLarge(
                f"{self.filetype.kind.value}s ({self.filetype.id}) may be at most {limit} bytes",
                errors=_file_error("too_large", f"at most {limit} bytes"),
            )
        self._hash.update(data)
        self._inspector.feed(data)
        self._staged.write(data)

    def finish(self) -> tuple[FileType, int, str, StagedFile]:
        if self.filetype is None:
            if not self._pending:
                raise InvalidInput("the file is empty", errors=_file_error("empty", "no bytes"))
            data, self._pending = self._pending, b""
            self._start(data)  # shorter than any signature check: refused here, or
            self._write(data)  # judged by the structural check below
        assert self.filetype and self._inspector and self._staged
        problem = self._inspector.problem()
        if problem and self._inspector.wrong_type:
            raise UnsupportedMediaType(
                f"{problem}; nothing was stored",
                errors=_file_error("unsupported_type", problem),
            )
        if problem:
            raise InvalidInput(
                f"{problem}; nothing was stored",
                errors=_file_error("damaged", problem),
            )
        return self.filetype, self.size, self._hash.hexdigest(), self._staged

    def discard(self) -> None:
        if self._staged is not None:
            self._staged.discard()


@dataclass
class _Part:
    """The part being parsed: its headers as they arrive, then whether it is the file."""

    headers: dict[str, str] = field(default_factory=dict)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    is_file: bool = False


class _MultipartReader:
    """Turns the push parser's callbacks into a file fed to the sink in batches."""

    def __init__(self, sink: FileSink) -> None:
        self.sink = sink
        self.part = _Part()
        self.buffer = bytearray()
        self.seen_file = False
        self.file_done = False
        self.ended = False
        self.filename: str | None = None
        self.declared_type: str | None = None

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self.part.header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self.part.header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self.part = _Part()

    def _header_end(self) -> None:
        name = bytes(self.part.header_name).decode("latin-1").strip().lower()
        # Kept as Latin-1 (byte for byte) for the header parser; text is decoded later.
        self.part.headers[name] = bytes(self.part.header_value).decode("latin-1").strip()
        self.part.header_name.clear()
        self.part.header_value.clear()

    def _headers_finished(self) -> None:
        disposition, params = parse_options_header(self.part.headers.get("content-disposition"))
        name = params.get(b"name", b"").decode("latin-1")
        if disposition != b"form-data" or name != FILE_FIELD:
            raise InvalidInput(
                f"unexpected form field {name!r}: send the file as the form field 'file'",
                errors=[FieldError(name or "body", "unexpected_field", "only 'file' is read")],
            )
        if self.seen_file:
            raise InvalidInput(
                "one file per request", errors=_file_error("repeated", "send one file")
            )
        self.seen_file = self.part.is_file = True
        raw_name = params.get(b"filename")
        self.filename = _decode(raw_name[:MAX_FILENAME_BYTES]) if raw_name else None
        declared = self.part.headers.get("content-type")
        self.declared_type = _decode(declared.encode("latin-1")) if declared else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.is_file:
            self.buffer.extend(data[start:end])

    def _part_end(self) -> None:
        if self.part.is_file:
            self.file_done = True

    def _end(self) -> None:
        self.ended = True

    async def flush(self, *, force: bool = False) -> None:
        if self.buffer and (force or len(self.buffer) >= WRITE_BATCH):
            data, self.buffer = bytes(self.buffer), bytearray()
            await to_thread.run_sync(self.sink.feed, data)


def _decode(raw: bytes) -> str:
    """Header bytes: UTF-8 as browsers send it (RFC 7578), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _boundary(content_type: str | None) -> bytes:
    media_type, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType(
            "send the file as multipart/form-data (with a boundary), in the field 'file'",
            errors=[
                FieldError("header.Content-Type", "not_multipart", "multipart/form-data expected")
            ],
        )
    return boundary


def _check_declared_length(content_length: str | None, limits: UploadLimits) -> None:
    if content_length and content_length.isdigit():
        ceiling = limits.largest + MULTIPART_OVERHEAD
        if int(content_length) > ceiling:
            raise PayloadTooLarge(
                f"the request body is {content_length} bytes; no accepted file may exceed "
                f"{limits.largest} bytes",
                errors=_file_error("too_large", f"at most {limits.largest} bytes"),
            )


def _check_received_length(content_length: str | None, received: int) -> None:
    if content_length and content_length.isdigit() and int(content_length) != received:
        raise InvalidInput(
            f"the body is {received} bytes but Content-Length declared {content_length}; "
            "nothing was stored",
            errors=[FieldError("header.Content-Length", "length_mismatch", "send the whole body")],
        )


async def receive_file(request: Request, storage: Storage, limits: UploadLimits) -> ReceivedFile:
    """Stream the request's single file into a staged file; the caller commits or discards."""
    boundary = _boundary(request.headers.get("content-type"))
    _check_declared_length(request.headers.get("content-length"), limits)
    sink = FileSink(storage, limits)
    reader = _MultipartReader(sink)
    try:
        try:
            parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
        except (FormParserError, ValueError) as exc:
            raise _malformed(exc) from exc
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if reader.ended:
                # Read to the end all the same: nothing is kept from a body that does not
                # arrive whole (the client may still be sending, or may never finish).
                continue
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise _malformed(exc) from exc
            await reader.flush()
        _check_received_length(request.headers.get("content-length"), received)
        if not reader.ended:
            raise _malformed("the body ended before the closing boundary")
        if not reader.seen_file:
            raise InvalidInput(
                "no file: send it in the form field 'file'",
                errors=_file_error("missing", "the form field 'file' is required"),
            )
        await reader.flush(force=True)
        filetype, size, sha256, staged = await to_thread.run_sync(sink.finish)
    except BaseException:
        await to_thread.run_sync(sink.discard)
        raise
    return ReceivedFile(filetype, reader.filename, reader.declared_type, size, sha256, staged)


def _malformed(reason: object) -> InvalidInput:
    return InvalidInput(
        f"the multipart body is malformed: {reason}",
        errors=[FieldError("body", "malformed_multipart", str(reason))],
    )
