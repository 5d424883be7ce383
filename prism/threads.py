"""Thread pools by the kind of blocking work, so that one kind stalled cannot starve
another.

``async def`` functions share one event loop, and blocking calls leave it for a thread.
With one pool for everything (``asyncio.to_thread``: the default executor, ``cores + 4``
threads), a paused storage service fills it with calls waiting on sockets, and then
even ``GET /api/v1/models`` — which reads one local file — waits for a thread.

* :func:`in_storage` — calls to storage and Cosmos DB: a pool of its own, large because
  its threads mostly wait;
* :func:`in_control` — the quick local work of routes that touch no storage (the model
  report, the health report, which waits on its own probe threads): a small pool that
  storage and models never use;
* everything else (decoding, hashing, the models) stays in the default executor.

The pools start no thread until they are first used: importing this reads nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

STORAGE_THREADS = 32
CONTROL_THREADS = 4

P = ParamSpec("P")
T = TypeVar("T")

_storage = ThreadPoolExecutor(STORAGE_THREADS, thread_name_prefix="prism-storage")
_control = ThreadPoolExecutor(CONTROL_THREADS, thread_name_prefix="prism-control")


async def in_storage(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)`` in the storage pool."""
    return await asyncio.get_running_loop().run_in_executor(
        _storage, partial(call, *args, **kwargs)
    )


async def in_control(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)`` in the pool of quick local work."""
    return await asyncio.get_running_loop().run_in_executor(
        _control, partial(call, *args, **kwargs)
    )
