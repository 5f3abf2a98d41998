"""Small but structurally real files of every accepted type, and hostile ones."""

import io
import struct
import zipfile
import zlib


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int = 2, height: int = 2, padding: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    chunks = [_png_chunk(b"IHDR", header)]
    if padding:
        chunks.append(_png_chunk(b"tEXt", b"Comment\x00" + b"x" * padding))
    chunks += [_png_chunk(b"IDAT", zlib.compress(rows)), _png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def jpeg(body: int = 200) -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    scan = bytes((i * 7) % 255 for i in range(body))  # no 0xFF: no stray markers
    return b"\xff\xd8" + app0 + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + scan + b"\xff\xd9"


def webp() -> bytes:
    frame = b"\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00" + b"\x00" * 120
    chunk = b"VP8 " + struct.pack("<I", len(frame)) + frame
    body = b"WEBP" + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(media: int = 1000, large_mdat: bool = False, moov: bool = True) -> bytes:
    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")
    movie = _box(b"moov", _box(b"mvhd", b"\x00" * 100)) if moov else b""
    data = bytes(i % 251 for i in range(media))
    if large_mdat:  # a 64-bit box size
        mdat = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + len(data)) + data
    else:
        mdat = _box(b"mdat", data)
    return ftyp + movie + mdat


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF\n"
    )


def zip_file(members: dict[str, bytes], comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            # a fixed timestamp: the same members always make the same bytes
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 2, 29, 17, 30, 0)), content)
        archive.comment = comment
    return buffer.getvalue()


def docx(extra: dict[str, bytes] | None = None) -> bytes:
    return zip_file(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "_rels/.rels": b"<Relationships/>",
            "word/document.xml": "<w:document>阶段性进展情况</w:document>".encode(),
            **(extra or {}),
        }
    )


def xlsx() -> bytes:
    return zip_file(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
        }
    )


def windows_executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def elf_executable() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    return data[: int(len(data) * keep)]
