"""One writer at a time: an exclusive lock on ``STORE.lock`` beside the store, held for a whole run.

SQLite already serialises single transactions; the run lock keeps a second labelling run from
deciding what is new while the first one is still writing it (both would label the same
messages). The operating system drops the lock when its process ends, ``kill -9`` included,
so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .schema import StoreError, StoreLockedError

__all__ = ["WriterLock"]


class WriterLock:
    """An exclusive lock on ``<store>.lock``.

    Parameters
    ----------
    store : path
        The store's file; the lock file is its name plus ``.lock``.
    wait : float
        Seconds to wait for another writer to finish; 0 fails at once.
    """

    def __init__(self, store: str | os.PathLike, wait: float = 0.0) -> None:
        self.store = Path(store)
        self.path = Path(f"{store}.lock")
        self.wait = wait
        self._fh = None

    def acquire(self) -> "WriterLock":
        """Take the lock or raise :class:`StoreLockedError` naming the process that holds it."""
        try:
            fh = open(self.path, "a+")
        except OSError as e:
            raise StoreError(f"{self.path}: cannot make the store's lock file ({e.strerror or type(e).__name__})") from None
        deadline = time.monotonic() + max(0.0, self.wait)
        while True:
            if _try_lock(fh):
                break
            if time.monotonic() >= deadline:
                holder = _holder(self.path)
                fh.close()
                raise StoreLockedError(
                    f"{self.store}: another process{holder} is writing to this store; wait for it to finish "
                    "(or give --wait SECONDS to wait for it), then run again")
            time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        """Drop the lock (the lock file stays, empty)."""
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
            except OSError:
                pass
            _unlock(self._fh)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(path: Path) -> str:
    """`` (pid N)`` from the lock file, when it says."""
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


try:
    import fcntl

    def _try_lock(fh) -> bool:
        """A non-blocking exclusive flock."""
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fh) -> None:
        """Release the flock."""
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fh) -> bool:
        """A non-blocking lock of the file's first byte."""
        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fh) -> None:
        """Release the byte lock."""
        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
