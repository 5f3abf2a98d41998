"""Typing files by content, catching truncation, and naming downloads: pure functions."""

import pytest

from app.attachments import sniff
from app.attachments.naming import content_disposition, safe_filename
from tests import samples


def inspect(data: bytes, chunk: int = 65536) -> tuple[sniff.FileType | None, str | None]:
    filetype = sniff.detect(data[: sniff.HEAD_SIZE])
    if filetype is None:
        return None, None
    inspector = sniff.inspector_for(filetype)
    for start in range(0, len(data), chunk):
        inspector.feed(data[start : start + chunk])
    return filetype, inspector.problem()


GOOD = [
    (samples.jpeg(), sniff.JPEG),
    (samples.png(), sniff.PNG),
    (samples.webp(), sniff.WEBP),
    (samples.mp4(), sniff.MP4),
    (samples.mp4(large_mdat=True), sniff.MP4),
    (samples.pdf(), sniff.PDF),
    (samples.docx(), sniff.DOCX),
]


@pytest.mark.parametrize(("data", "expected"), GOOD)
@pytest.mark.parametrize("chunk", [1, 7, 4096, 65536])
def test_good_files_are_recognised_whatever_the_chunking(
    data: bytes, expected: sniff.FileType, chunk: int
) -> None:
    assert inspect(data, chunk) == (expected, None)


@pytest.mark.parametrize(("data", "expected"), GOOD)
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_files_are_refused(data: bytes, expected: sniff.FileType, keep: float) -> None:
    filetype, problem = inspect(samples.truncated(data, keep), chunk=13)
    assert filetype == expected
    assert problem is not None


@pytest.mark.parametrize(
    ("data", "described"),
    [
        (samples.windows_executable(), "Windows executable"),
        (samples.elf_executable(), "ELF executable"),
        (b"#!/bin/sh\nrm -rf /\n", "script"),
        (b"GIF89a" + b"\x00" * 20, "GIF"),
        (b"<html><script>alert(1)</script></html>", "markup"),
        (b"\x00\x00\x00\x18ftypqt  \x00\x00\x00\x00qt  ", "brand b'qt  '"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1", "brand b'heic'"),
        (b"plain text, nothing more", "unrecognised"),
    ],
)
def test_other_types_are_not_accepted(data: bytes, described: str) -> None:
    assert sniff.detect(data[: sniff.HEAD_SIZE]) is None
    assert described in sniff.describe(data[: sniff.HEAD_SIZE])


def test_a_zip_that_is_no_word_document_is_the_wrong_type() -> None:
    for data in (samples.xlsx(), samples.docx({"word/vbaProject.bin": b"macro"})):
        inspector = sniff.inspector_for(sniff.DOCX)
        inspector.feed(data)
        assert inspector.problem() is not None and inspector.wrong_type


def test_zip_details() -> None:
    names = sniff.zip_member_names(samples.docx(), len(samples.docx()))
    assert isinstance(names, set) and "word/document.xml" in names
    # an archive comment that contains the end-record signature does not confuse the reader
    tricky = samples.zip_file({"a": b"1"}, comment=b"PK\x05\x06 fake")
    assert sniff.zip_member_names(tricky, len(tricky)) == {"a"}
    # bytes appended after the archive, or a cut, are damage
    assert isinstance(sniff.zip_member_names(samples.docx() + b"junk", 0), str)
    data = samples.docx()
    assert isinstance(sniff.zip_member_names(data[:-30], len(data) - 30), str)


def test_mp4_structure() -> None:
    assert (
        inspect(samples.mp4(moov=False))[1] == "the MP4 has no moov box (an unfinished recording?)"
    )
    padded = samples.mp4() + b"\x00" * 3
    assert "truncated" in (inspect(padded)[1] or "")
    impossible = samples.mp4()[: -1000 - 8] + b"\x00\x00\x00\x03mdat"
    assert "impossible size" in (inspect(impossible)[1] or "")


def test_jpeg_may_be_padded_with_zeros_but_must_end() -> None:
    assert inspect(samples.jpeg() + b"\x00" * 16)[1] is None
    assert inspect(samples.jpeg()[:-2])[1] is not None


def test_webp_size_must_match() -> None:
    assert inspect(samples.webp() + b"extra")[1] is not None


@pytest.mark.parametrize(
    ("raw", "filetype", "expected"),
    [
        ("现场照片.jpg", sniff.JPEG, "现场照片.jpg"),
        ("photo.JPEG", sniff.JPEG, "photo.JPEG"),
        ("photo.jpg", sniff.PNG, "photo.jpg.png"),
        ("evil.exe", sniff.PDF, "evil.exe.pdf"),
        ("../../etc/passwd", sniff.PDF, "passwd.pdf"),
        ("C:\\Users\\a\\报告.docx", sniff.DOCX, "报告.docx"),
        ("bad\x00name\u202e.pdf", sniff.PDF, "badname.pdf"),
        ("...", sniff.PNG, "attachment.png"),
        (None, sniff.MP4, "attachment.mp4"),
        (".png", sniff.PNG, "png.png"),
    ],
)
def test_safe_filename(raw: str | None, filetype: sniff.FileType, expected: str) -> None:
    assert safe_filename(raw, filetype) == expected


def test_long_names_keep_their_extension() -> None:
    name = safe_filename("长" * 500 + ".pdf", sniff.PDF)
    assert len(name) == 200 and name.endswith(".pdf")


def test_content_disposition() -> None:
    header = content_disposition('南京 "招聘会".pdf')
    assert header.startswith('attachment; filename="')
    assert 'filename="__ _____.pdf"' in header
    assert "filename*=UTF-8''%E5%8D%97%E4%BA%AC%20%22%E6%8B%9B%E8%81%98%E4%BC%9A%22.pdf" in header
