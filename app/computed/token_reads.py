"""Change-token reads shared by the requests that wait for them.

Under a polling storm every remembered answer costs a read of its campaign's change token:
a worker-thread hop and a database round trip each. Requests that ask while a read is under
way wait for the next one, which then answers all of them: one read serves many, and still
no request gets a token read before it arrived (a write it made just before is seen), since
the read a request waits for always starts after the request asked.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class SharedReads(Generic[Key]):
    """One running read per key at a time; who asks during it gets the next one. Used on
    one event loop."""

    def __init__(self, read: Callable[[Key], Awaitable[str]]) -> None:
        self._read = read
        self._waiting: dict[Key, list[asyncio.Future[str]]] = {}
        self._running: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def read(self, key: Key) -> str:
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(waiter)
        if key not in self._running:
            self._running.add(key)
            task = asyncio.get_running_loop().create_task(self._run(key))
            self._tasks.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._tasks.discard)
        return await waiter

    async def _run(self, key: Key) -> None:
        try:
            while waiters := self._waiting.pop(key, None):
                try:
                    token = await self._read(key)
                except Exception as exc:  # every waiter of this read hears of it
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                for waiter in waiters:
                    if not waiter.done():  # a waiter whose client left is cancelled
                        waiter.set_result(token)
        finally:
            self._running.discard(key)
