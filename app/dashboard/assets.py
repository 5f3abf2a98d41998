"""The dashboard's files, read once per process and kept in memory beside their gzip form.

The page (`static/index.html`) names its scripts and styles as `{{ static:PATH }}`; each
becomes `/dashboard/static/PATH?v=HASH` with the file's content hash, so the files can be
cached for a year and a new release is fetched at once (the page itself is revalidated).
"""

import gzip
import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).parent / "static"
STATIC_URL = "/dashboard/static/"
PAGE = "index.html"
REFERENCE = re.compile(r"\{\{\s*static:([A-Za-z0-9._/-]+)\s*\}\}")
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/plain; charset=utf-8",
}
TEXT = "text/plain; charset=utf-8"  # LICENSE, NOTICE
COMPRESSIBLE = ("text/", "image/svg+xml")
MIN_COMPRESS_BYTES = 512
GZIP_LEVEL = 9  # paid once per process


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None  # None when compression would not pay
    etag: str  # strong, of the uncompressed body
    media_type: str

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:12]


@dataclass(frozen=True)
class Bundle:
    files: Mapping[str, Asset]  # by path under static/, with "/" separators
    page: Asset  # index.html with versioned references


def media_type_of(path: str) -> str:
    return MEDIA_TYPES.get(Path(path).suffix.lower(), TEXT)


def make_asset(body: bytes, media_type: str) -> Asset:
    gzipped = None
    if media_type.startswith(COMPRESSIBLE) and len(body) >= MIN_COMPRESS_BYTES:
        squeezed = gzip.compress(body, GZIP_LEVEL, mtime=0)
        gzipped = squeezed if len(squeezed) < len(body) else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body=body, gzipped=gzipped, etag=etag, media_type=media_type)


def versioned_page(template: str, files: Mapping[str, Asset]) -> str:
    """The page with each `{{ static:PATH }}` replaced by its versioned URL; a reference to a
    file that does not exist is a packaging error, raised at once."""

    def url(match: re.Match[str]) -> str:
        path = match.group(1)
        asset = files.get(path)
        if asset is None:
            raise LookupError(f"{PAGE} refers to {path}, which is not in {STATIC}")
        return f"{STATIC_URL}{path}?v={asset.version}"

    return REFERENCE.sub(url, template)


def load(directory: Path = STATIC) -> Bundle:
    files = {
        path.relative_to(directory).as_posix(): make_asset(
            path.read_bytes(), media_type_of(path.name)
        )
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != PAGE and not path.name.startswith(".")
    }
    page = versioned_page((directory / PAGE).read_text(encoding="utf-8"), files)
    return Bundle(files=files, page=make_asset(page.encode(), MEDIA_TYPES[".html"]))


_lock = threading.Lock()
_loaded: Bundle | None = None


def bundle() -> Bundle:
    """Read and compressed on the first request, in its worker thread (the handlers are
    synchronous): never on the event loop, and not by processes that never serve a page."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = load()
    return _loaded
