"""Work done in a forked child while this process goes on, for a command on a machine with
more than one core: ``cloudward plan`` reads a large estate's dependencies while it reads the
assets, and turns a plan of 100,000 assets into its JSON body (seconds of CPU) while it writes
the plan's rows.

Only where it is safe: on Linux, from a process running a single thread (the command line,
not the daemon: a thread holding a lock at the fork would leave it held in the child), and for
work that writes no file and logs nothing. The child inherits the store's connections and must
leave them alone: work that reads the store calls
:meth:`agent.store.Store.in_forked_child` first and reads on connections of its own. The child
ends with ``os._exit``, running no clean-up of the parent's. The
result comes back pickled through a pipe. When the child cannot be started, or fails or is
killed, the work runs again in this process, so the caller gets the same result, or the same
exception, either way."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Whether a child may be forked here: Linux, and this process runs one thread."""
    return sys.platform == "linux" and threading.active_count() == 1


class Apart(Generic[T]):
    """``work`` started in a forked child (or not: when ``when`` is false or :func:`can_fork`
    says no); :meth:`result` waits for it."""

    def __init__(self, work: Callable[[], T], when: bool = True) -> None:
        self._work = work
        self._pid: int | None = None  # the child's, until it is reaped
        self.forked = False  # whether the work was started in a child
        self._chunks: list[bytes] = []
        self._reader: threading.Thread | None = None
        if not (when and can_fork()):
            return
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: do it here
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child: the work, its result down the pipe, and out
            os.close(read_end)
            _child(work, write_end)
        os.close(write_end)
        self._pid, self.forked = pid, True
        self._reader = threading.Thread(
            target=self._drain, args=(read_end,), name="cloudward-apart", daemon=True
        )
        self._reader.start()  # the pipe holds 64 KB: read as the child writes

    def _drain(self, fd: int) -> None:
        with open(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 20):
                self._chunks.append(chunk)

    def result(self) -> T:
        """The work's result: the child's, else the work done here (once: the child's result
        is not kept)."""
        if self._pid is None:
            return self._work()
        status = self._reap()
        data = b"".join(self._chunks)
        self._chunks.clear()
        if status == 0 and data:
            with contextlib.suppress(Exception):  # a torn payload: do the work here
                value: T = pickle.loads(data)  # noqa: S301 - our own child, our own pipe
                return value
        return self._work()

    def cancel(self) -> None:
        """Stop the child, if it still runs (the caller failed before it needed the result)."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> int:
        assert self._pid is not None and self._reader is not None
        _, status = os.waitpid(self._pid, 0)
        self._reader.join()
        self._pid = None
        return os.waitstatus_to_exitcode(status)


@contextlib.contextmanager
def apart(work: Callable[[], T], when: bool = True) -> Iterator[Apart[T]]:
    """:class:`Apart` for a block: the child is stopped if the block ends without its result."""
    started = Apart(work, when)
    try:
        yield started
    finally:
        started.cancel()


def _child(work: Callable[[], T], fd: int) -> None:
    code = 1
    try:
        payload = pickle.dumps(work(), pickle.HIGHEST_PROTOCOL)
        with open(fd, "wb", buffering=0) as pipe:
            view = memoryview(payload)
            while view:
                view = view[pipe.write(view) or 0 :]
        code = 0
    except BaseException:  # noqa: S110 - the parent does the work again and reports it
        pass
    finally:
        os._exit(code)
