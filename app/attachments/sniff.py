"""What a file is, decided by its bytes: the magic at its start, and a structural check at the
end that refuses truncated or disguised files. Pure functions and small state machines that
are fed the file chunk by chunk, so nothing needs the whole file in memory."""

import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.core.archives import unpacking_problem

HEAD_SIZE = 16  # enough bytes to tell every accepted type apart


class Kind(StrEnum):
    picture = "picture"
    video = "video"
    document = "document"


@dataclass(frozen=True)
class FileType:
    id: str
    media_type: str
    kind: Kind
    extensions: tuple[str, ...]  # the first one is what a download is named with


JPEG = FileType("jpeg", "image/jpeg", Kind.picture, (".jpg", ".jpeg"))
PNG = FileType("png", "image/png", Kind.picture, (".png",))
WEBP = FileType("webp", "image/webp", Kind.picture, (".webp",))
MP4 = FileType("mp4", "video/mp4", Kind.video, (".mp4", ".m4v"))
PDF = FileType("pdf", "application/pdf", Kind.document, (".pdf",))
DOCX = FileType(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    Kind.document,
    (".docx",),
)
FILE_TYPES = (JPEG, PNG, WEBP, MP4, PDF, DOCX)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
ZIP_LOCAL_HEADER = b"PK\x03\x04"
# ISO base media major brands that are MP4 video (QuickTime "qt  ", HEIF images and
# 3GPP are other formats in the same box structure and are refused).
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
     b"M4V ", b"dash", b"mmp4", b"MSNV", b"f4v "}
)  # fmt: skip

_KNOWN_OTHERS = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"#!", "a script"),
    (b"GIF8", "a GIF image (accepted pictures: JPEG, PNG, WebP)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.doc/.xls; save it as .docx or PDF)"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"<", "markup (HTML, SVG or XML)"),
)


def detect(head: bytes) -> FileType | None:
    """The accepted type whose signature `head` (the first bytes of the file) carries."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(PNG_SIGNATURE):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return MP4
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(ZIP_LOCAL_HEADER):
        return DOCX  # confirmed (or refused) by its central directory at the end
    return None


def describe(head: bytes) -> str:
    """A human guess at what a refused file is, for the error message."""
    if head[4:8] == b"ftyp":
        return f"an ISO media file of brand {head[8:12]!r} (accepted video: MP4)"
    for magic, what in _KNOWN_OTHERS:
        if head.lstrip()[: len(magic)] == magic:
            return what
    return "of an unrecognised type"


class Inspector(Protocol):
    # Set by `problem()` when the file is intact but not of an accepted type after all
    # (a ZIP that is no Word document): a 415 rather than a damaged file's 422.
    wrong_type: bool

    def feed(self, chunk: bytes) -> None: ...

    def problem(self) -> str | None:
        """At the end of the file: why it is not a complete file of its type, or None."""
        ...


class TailInspector:
    """Keeps the first bytes and the last `tail_size` bytes; judges them at the end."""

    tail_size = 1024

    def __init__(self) -> None:
        self.wrong_type = False
        self.head = b""
        self.tail = bytearray()
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < HEAD_SIZE:
            self.head += chunk[: HEAD_SIZE - len(self.head)]
        self.size += len(chunk)
        if len(chunk) >= self.tail_size:
            self.tail = bytearray(chunk[-self.tail_size :])
        else:
            self.tail += chunk
            del self.tail[: -self.tail_size]

    def problem(self) -> str | None:
        return self.check(self.head, bytes(self.tail), self.size)

    def check(self, head: bytes, tail: bytes, size: int) -> str | None:
        raise NotImplementedError


class JpegInspector(TailInspector):
    def check(self, head: bytes, tail: bytes, size: int) -> str | None:
        # Some cameras pad with zeros after the end-of-image marker.
        if not tail.rstrip(b"\x00").endswith(b"\xff\xd9"):
            return "the JPEG has no end-of-image marker: the file is truncated or damaged"
        return None


class PngInspector(TailInspector):
    def check(self, head: bytes, tail: bytes, size: int) -> str | None:
        if head[12:16] != b"IHDR":
            return "the PNG does not start with its IHDR header chunk"
        if not tail.endswith(PNG_IEND):
            return "the PNG has no IEND chunk at its end: the file is truncated or damaged"
        return None


class WebpInspector(TailInspector):
    def check(self, head: bytes, tail: bytes, size: int) -> str | None:
        if head[12:16] not in (b"VP8 ", b"VP8L", b"VP8X"):
            return "the WebP container holds no VP8/VP8L/VP8X image"
        declared = int.from_bytes(head[4:8], "little") + 8
        if declared != size:
            return f"the WebP declares {declared} bytes but has {size}: truncated or damaged"
        return None


class PdfInspector(TailInspector):
    def check(self, head: bytes, tail: bytes, size: int) -> str | None:
        if b"%%EOF" not in tail:
            return "the PDF has no %%EOF trailer near its end: the file is truncated or damaged"
        return None


class DocxInspector(TailInspector):
    """A .docx is a ZIP archive; its central directory (at the end) lists the parts."""

    tail_size = 1024 * 1024
    required = frozenset({"[Content_Types].xml", "word/document.xml"})

    def check(self, head: bytes, tail: bytes, size: int) -> str | None:
        members = zip_members(tail, size)
        if isinstance(members, str):
            return members
        names = set(members)
        if not self.required <= names:
            self.wrong_type = True
            return "a ZIP archive, but not a Word document (.docx)"
        if "word/vbaProject.bin" in names:
            self.wrong_type = True
            return "macro-enabled Word documents are not accepted"
        return unpacking_problem(members, max_total=MAX_DOCX_UNPACKED_BYTES)


# A Word document's XML compresses maybe 10 to 1 and its pictures not at all.
MAX_DOCX_UNPACKED_BYTES = 256 * 1024 * 1024

EOCD = b"PK\x05\x06"
EOCD_SIZE = 22
CENTRAL_HEADER = b"PK\x01\x02"
CENTRAL_HEADER_SIZE = 46
MAX_ZIP_COMMENT = 0xFFFF


def zip_member_names(tail: bytes, size: int) -> set[str] | str:
    """The member names from a ZIP file's central directory, read from the file's last
    bytes; or why they cannot be (a truncated or damaged archive)."""
    members = zip_members(tail, size)
    return members if isinstance(members, str) else set(members)


def zip_members(tail: bytes, size: int) -> dict[str, tuple[int, int]] | str:
    """Each member's (compressed, uncompressed) size from a ZIP file's central directory,
    read from the file's last bytes; or why they cannot be read."""
    tail_start = size - len(tail)
    search_from = max(0, len(tail) - EOCD_SIZE - MAX_ZIP_COMMENT)
    position = tail.rfind(EOCD, search_from)
    while position >= 0:
        if len(tail) - position >= EOCD_SIZE:
            fields = struct.unpack("<4sHHHHIIH", tail[position : position + EOCD_SIZE])
            _, disk, cd_disk, entries_here, entries, cd_size, cd_offset, comment = fields
            if position + EOCD_SIZE + comment == len(tail):
                break
        position = tail.rfind(EOCD, search_from, position)
    else:
        return "the ZIP archive has no end record: the file is truncated or damaged"
    if disk or cd_disk or entries_here != entries:
        return "multi-volume ZIP archives are not accepted"
    if cd_offset == 0xFFFFFFFF or entries == 0xFFFF:
        return "ZIP64 archives are not accepted as documents"
    if cd_offset + cd_size != tail_start + position:
        return "the ZIP directory does not end where the archive does: truncated or damaged"
    cursor = cd_offset - tail_start
    if cursor < 0:
        return "the ZIP directory is too large to check"
    members: dict[str, tuple[int, int]] = {}
    for _ in range(entries):
        header = tail[cursor : cursor + CENTRAL_HEADER_SIZE]
        if len(header) < CENTRAL_HEADER_SIZE or not header.startswith(CENTRAL_HEADER):
            return "the ZIP directory is damaged"
        compressed, uncompressed = struct.unpack("<II", header[20:28])
        name_length, extra_length, comment_length = struct.unpack("<HHH", header[28:34])
        start = cursor + CENTRAL_HEADER_SIZE
        name = tail[start : start + name_length].decode("utf-8", "replace")
        if name in members:
            return "the ZIP directory names a part twice"
        members[name] = (compressed, uncompressed)
        cursor = start + name_length + extra_length + comment_length
    if cursor != position:
        return "the ZIP directory is damaged"
    return members


class Mp4Inspector:
    """Walks the top-level boxes as the bytes go by: they must tile the file exactly,
    start with `ftyp` and include the `moov` index a player needs."""

    max_boxes = 100_000

    def __init__(self) -> None:
        self.wrong_type = False
        self.size = 0
        self.next_box = 0  # absolute offset of the next box header
        self.header = bytearray()  # that header, while it is split across chunks
        self.boxes = 0
        self.has_moov = False
        self.open_ended = False  # a box of size 0 runs to the end of the file
        self.error: str | None = None

    def feed(self, chunk: bytes) -> None:
        start = self.size
        self.size += len(chunk)
        while self.error is None and not self.open_ended and self.next_box < self.size:
            at = self.next_box + len(self.header) - start
            self.header += chunk[at : at + 16 - len(self.header)]
            if len(self.header) < 8:
                return
            box_size, box_type = struct.unpack(">I4s", self.header[:8])
            if box_size == 1:  # a 64-bit size follows the type
                if len(self.header) < 16:
                    return  # the rest of the header comes with the next chunk
                box_size = struct.unpack(">Q", self.header[8:16])[0]
                minimum = 16
            else:
                minimum = 8
            self._box(box_type, box_size, minimum)

    def _box(self, box_type: bytes, box_size: int, minimum: int) -> None:
        if self.boxes == 0 and box_type != b"ftyp":
            self.error = "the MP4 does not start with an ftyp box"
            return
        self.boxes += 1
        if self.boxes > self.max_boxes:
            self.error = "the MP4 has implausibly many top-level boxes"
            return
        self.has_moov = self.has_moov or box_type == b"moov"
        self.header.clear()
        if box_size == 0:
            self.open_ended = True
        elif box_size < minimum:
            self.error = f"the MP4 has a {box_type!r} box of impossible size {box_size}"
        else:
            self.next_box += box_size

    def problem(self) -> str | None:
        if self.error:
            return self.error
        if not self.open_ended and (self.header or self.next_box != self.size):
            return (
                f"the MP4's boxes need {self.next_box} bytes but the file has {self.size}: "
                "the file is truncated or damaged"
            )
        if not self.has_moov:
            return "the MP4 has no moov box (an unfinished recording?)"
        return None


def inspector_for(filetype: FileType) -> Inspector:
    inspectors: dict[str, type[TailInspector] | type[Mp4Inspector]] = {
        JPEG.id: JpegInspector,
        PNG.id: PngInspector,
        WEBP.id: WebpInspector,
        MP4.id: Mp4Inspector,
        PDF.id: PdfInspector,
        DOCX.id: DocxInspector,
    }
    return inspectors[filetype.id]()
