"""Names of stored files: what the uploader called it, made safe, with the extension of
what it really is; and the Content-Disposition header a download carries."""

import unicodedata
from urllib.parse import quote

from app.attachments.sniff import FileType

MAX_FILENAME = 200


def printable(text: str) -> str:
    """Without control, format (e.g. bidi overrides) and other invisible characters."""
    return "".join(char for char in text if unicodedata.category(char)[0] != "C")


def safe_filename(raw: str | None, filetype: FileType) -> str:
    """No directories, no control or invisible characters, no leading dots; the
    extension matches the content (a PNG sent as `photo.exe` is `photo.exe.png`)."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = printable(name).strip().lstrip(".").strip()
    if not name:
        name = "attachment"
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem and f".{extension.lower()}" in filetype.extensions):
        stem, extension = name, filetype.extensions[0].lstrip(".")
    return stem[: MAX_FILENAME - len(extension) - 1] + "." + extension


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII fallback for old clients, and the UTF-8 name (RFC 8187)."""
    fallback = "".join(
        char if 0x20 <= ord(char) < 0x7F and char not in '"\\%' else "_" for char in filename
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
