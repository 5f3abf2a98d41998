"""Capacity limiters for work that must not take the request threads' turns."""

from collections.abc import Callable

from anyio import CapacityLimiter
from anyio.lowlevel import RunVar


def per_event_loop(name: str, tokens: int) -> Callable[[], CapacityLimiter]:
    """A limiter of `tokens` threads, one per event loop (a limiter belongs to its loop)."""
    variable: RunVar[CapacityLimiter] = RunVar(name)

    def limiter() -> CapacityLimiter:
        try:
            return variable.get()
        except LookupError:
            created = CapacityLimiter(tokens)
            variable.set(created)
            return created

    return limiter
