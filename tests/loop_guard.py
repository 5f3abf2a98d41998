"""A blocked-loop detector: every SQL statement and every opened storage file is checked
for running on an event loop's thread. The app must do such I/O in worker threads; one
statement on the loop stalls every other request (issue 10, defect 2)."""

import asyncio
import sys
import traceback
from typing import Any

from sqlalchemy import Engine, event

violations: list[str] = []
_installed = False


def on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _where() -> str:
    frames = [f for f in traceback.extract_stack()[:-2] if "/app/" in f.filename]
    return " <- ".join(f"{f.filename.rsplit('/app/', 1)[1]}:{f.lineno}" for f in frames[-4:])


def _statement_on_loop(
    _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if on_event_loop():
        violations.append(f"SQL on the event loop: {statement[:120]!r} at {_where()}")


def _file_on_loop(name: str, args: tuple[Any, ...]) -> None:
    if name == "open" and args and isinstance(args[0], str | bytes) and on_event_loop():
        path = args[0] if isinstance(args[0], str) else args[0].decode(errors="replace")
        if "storage" in path:
            violations.append(f"file opened on the event loop: {path} at {_where()}")


def install() -> None:
    """Once per process: on every engine, and as an audit hook for file opens."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "before_cursor_execute", _statement_on_loop)
    sys.addaudithook(_file_on_loop)
    _installed = True
