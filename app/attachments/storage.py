"""Where attachment bytes live, behind a small interface.

A file is first *staged* (written as it streams in), then *committed* under its key once
it has been checked and recorded, or *discarded*. The directory implementation is the
default; an object store (S3, MinIO, OSS) implements the same three steps with a multipart
upload, so several service machines can share one store.
"""

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO, Protocol

from fastapi import Depends

from app.core.deps import SettingsDep
from app.core.settings import Settings

READ_CHUNK = 256 * 1024
KEY_PATTERN = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")


class StagedFile(Protocol):
    def write(self, data: bytes) -> None: ...

    def commit(self, key: str) -> None:
        """Make the bytes readable under `key` (durably)."""
        ...

    def discard(self) -> None:
        """Forget the bytes; safe to call more than once, and after a failed commit."""
        ...


class Storage(Protocol):
    def stage(self) -> StagedFile: ...

    def read(self, key: str) -> Iterator[bytes]: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def sweep_staged(self, older_than: float) -> int:
        """Remove staged bytes untouched for `older_than` seconds; returns how many."""
        ...


def new_key() -> str:
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


class DirectoryStagedFile:
    def __init__(self, root: Path, incoming: Path) -> None:
        self._root = root
        self.path = incoming / f"{uuid.uuid4().hex}.part"
        self._file: BinaryIO | None = self.path.open("xb")

    def write(self, data: bytes) -> None:
        assert self._file is not None, "write after commit or discard"
        self._file.write(data)

    def commit(self, key: str) -> None:
        assert self._file is not None, "commit after commit or discard"
        target = _key_path(self._root, key)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)


class DirectoryStorage:
    """Files under `root/<2 hex>/<32 hex>`; staged files under `root/.incoming/`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def stage(self) -> DirectoryStagedFile:
        incoming = self.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        return DirectoryStagedFile(self.root, incoming)

    def read(self, key: str) -> Iterator[bytes]:
        with _key_path(self.root, key).open("rb") as file:
            while chunk := file.read(READ_CHUNK):
                yield chunk

    def exists(self, key: str) -> bool:
        return _key_path(self.root, key).is_file()

    def delete(self, key: str) -> None:
        _key_path(self.root, key).unlink(missing_ok=True)

    def sweep_staged(self, older_than: float) -> int:
        cutoff = time.time() - older_than
        removed = 0
        for path in (self.root / ".incoming").glob("*.part"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another process swept it first
                continue
        return removed


def _key_path(root: Path, key: str) -> Path:
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return root / key


def storage_for(settings: Settings) -> Storage:
    return DirectoryStorage(settings.storage_dir)


def get_storage(settings: SettingsDep) -> Storage:
    return storage_for(settings)


StorageDep = Annotated[Storage, Depends(get_storage)]
