"""Change-token reads shared by waiting requests (app.computed.token_reads): fewer reads
under a storm, and never one that started before its request asked."""

import asyncio
from collections.abc import Callable

import pytest

from app.computed.token_reads import SharedReads


class Counter:
    """A change counter whose reads can be held open."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        self.release = asyncio.Event()

    async def read(self, key: str, then: Callable[[str], str] | None) -> tuple[str, str | None]:
        self.reads += 1
        seen = self.value  # what the database answers as the read starts
        await self.release.wait()
        token = f"{key}:{seen}"
        return token, None if then is None else then(token)


def test_requests_asking_together_share_one_read() -> None:
    async def scenario() -> tuple[list[str], int]:
        counter = Counter()
        reads = SharedReads(counter.read)
        asking = [asyncio.create_task(reads.read("js-2024")) for _ in range(20)]
        await asyncio.sleep(0)
        counter.release.set()
        return await asyncio.gather(*asking), counter.reads

    tokens, read_count = asyncio.run(scenario())
    assert tokens == ["js-2024:0"] * 20 and read_count == 1


def test_a_request_never_gets_a_read_that_started_before_it_asked() -> None:
    """A client writes, then polls: a read already under way when it asks may have missed
    the write, so it waits for the next one."""

    async def scenario() -> tuple[str, str, int]:
        counter = Counter()
        reads = SharedReads(counter.read)
        early = asyncio.create_task(reads.read("js-2024"))
        while counter.reads == 0:  # until the first read has started (and seen 0)
            await asyncio.sleep(0)
        counter.value = 1  # a write commits
        late = asyncio.create_task(reads.read("js-2024"))
        await asyncio.sleep(0)
        counter.release.set()
        return await early, await late, counter.reads

    early, late, read_count = asyncio.run(scenario())
    assert (early, late, read_count) == ("js-2024:0", "js-2024:1", 2)


def test_a_failed_read_fails_its_waiters_only_and_campaigns_read_apart() -> None:
    async def scenario() -> None:
        calls: list[str] = []

        async def read(key: str, then: Callable[[str], None] | None) -> tuple[str, None]:
            calls.append(key)
            await asyncio.sleep(0)
            if calls.count("a") == 1 and key == "a":
                raise ConnectionError("server closed the connection")
            return key, None

        reads: SharedReads[str, None] = SharedReads(read)
        first = asyncio.create_task(reads.read("a"))
        other = asyncio.create_task(reads.read("b"))
        with pytest.raises(ConnectionError):
            await first
        assert await other == "b"
        assert await reads.read("a") == "a"
        assert calls == ["a", "b", "a"]

    asyncio.run(scenario())


def test_the_request_that_starts_a_read_has_its_work_done_in_it() -> None:
    """A lone poll whose data changed reads the token and computes its answer in one
    worker-thread call; a request that joined the read does its own work after it."""

    async def scenario() -> tuple[tuple[str, str | None], tuple[str, str | None], list[str]]:
        counter = Counter()
        reads: SharedReads[str, str] = SharedReads(counter.read)
        done: list[str] = []

        def work(name: str) -> Callable[[str], str]:
            def then(token: str) -> str:
                done.append(name)
                return f"{name} with {token}"

            return then

        starter = asyncio.create_task(reads.read_then("js-2024", work("starter")))
        joiner = asyncio.create_task(reads.read_then("js-2024", work("joiner")))
        await asyncio.sleep(0)
        counter.release.set()
        return await starter, await joiner, done

    starter, joiner, done = asyncio.run(scenario())
    assert starter == ("js-2024:0", "starter with js-2024:0")
    assert joiner == ("js-2024:0", None) and done == ["starter"]
