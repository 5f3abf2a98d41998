"""Change-token reads shared by the requests that wait for them.

Under a polling storm every remembered answer costs a read of its campaign's change token:
a worker-thread hop and a database round trip each. Requests that ask while a read is under
way wait for the next one, which then answers all of them: one read serves many, and still
no request gets a token read before it arrived (a write it made just before is seen), since
the read a request waits for always starts after the request asked.

The request that starts a read may have work of its own done with the token in the same
worker-thread call (`read_then`): a lone poll whose data changed reads the token and
computes the new answer in one hop instead of two. Those who joined that read get the token
when the work is done too: after a change they mostly want a view computed afresh as well,
and the two cores would not compute two views much faster side by side.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Result = TypeVar("Result")
Then = Callable[[str], Result]
# A read of the token for a key, then (when given) the starter's work with it, both in one
# worker-thread call: (token, what the work returned).
Read = Callable[[Key, Then[Result] | None], Awaitable[tuple[str, Result | None]]]


# One request waiting for a read, and the work it wants done with the token if it starts it.
_Waiter = tuple[asyncio.Future[tuple[str, Result | None]], Then[Result] | None]


class SharedReads(Generic[Key, Result]):
    """One running read per key at a time; who asks during it gets the next one. Used on
    one event loop."""

    def __init__(self, read: Read[Key, Result]) -> None:
        self._read = read
        # per key: the waiters for the next read, each with the work it wants done with the
        # token if it starts that read
        self._waiting: dict[Key, list[_Waiter[Result]]] = {}
        self._running: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def read(self, key: Key) -> str:
        token, _ = await self.read_then(key, None)
        return token

    async def read_then(self, key: Key, then: Then[Result] | None) -> tuple[str, Result | None]:
        """The token, and what `then(token)` returned when this request started the read
        (None when it joined one: its work is its own to do)."""
        waiter: asyncio.Future[tuple[str, Result | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting.setdefault(key, []).append((waiter, then))
        if key not in self._running:
            self._running.add(key)
            task = asyncio.get_running_loop().create_task(self._run(key))
            self._tasks.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._tasks.discard)
        return await waiter

    async def _run(self, key: Key) -> None:
        try:
            while waiters := self._waiting.pop(key, None):
                starter, then = waiters[0]
                try:
                    token, result = await self._read(key, None if starter.done() else then)
                except Exception as exc:  # every waiter of this read hears of it
                    for waiter, _ in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                for waiter, _ in waiters:
                    if not waiter.done():  # a waiter whose client left is cancelled
                        waiter.set_result((token, result if waiter is starter else None))
        finally:
            self._running.discard(key)
