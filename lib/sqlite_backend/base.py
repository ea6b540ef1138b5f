"""Django's SQLite backend with writers queued on a file lock (docs/decisions.md, "SQLite writers queue").

Every transaction here starts with BEGIN IMMEDIATE, which takes SQLite's write lock. A writer that finds it taken
waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries whatever happens meanwhile:
with eight concurrent writers whose transactions last a millisecond or two, the lock often stands free while they
all sleep, and the process whose threads take it back at once starves the other. Here a transaction first takes an
exclusive `flock` on a file beside the database (`<name>-writer`), trying again every 0.1 ms at first and at most
every 0.5 ms (every 10 ms once it has waited a second), and holds it until its COMMIT or ROLLBACK; then BEGIN
IMMEDIATE finds SQLite's lock free. (Waiting in a blocking `flock` was slower: each release wakes every waiter at
once. And it could not time out.) Before the file lock, the threads of one process (gunicorn's gthread workers run
four) queue on a lock of the process: a blocked thread sleeps until the one ahead lets go, instead of polling and
taking the interpreter's lock from the thread in its transaction (eight writers: +15 %, stop 13).

SQLite's own lock is untouched and still decides correctness: the file lock only orders who asks for it next, and
any writer that does not take it (another program, a write outside a transaction) queues on SQLite's lock as before.
A writer still gives up with "database is locked" after the `timeout` option's seconds. The kernel lets the lock go
when a process dies. In-memory databases (the tests) and `file:` URIs are not queued.
"""

import fcntl
import functools
import os
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

# Seconds between tries: short while transactions last milliseconds (pauses up to 0.5 ms served eight writers
# 5-10 % faster than up to 2 ms, docs/performance.md); past a second (a migration, a bulk load) cheap ones.
FIRST_PAUSE = 0.0001
LONGEST_PAUSE = 0.0005
PATIENT_PAUSE = 0.01
PATIENT_AFTER = 1.0


@functools.cache
def _threads_queue(path: str) -> threading.Lock:
    """The lock the threads of this process queue on for one database, before its file lock."""
    return threading.Lock()


@functools.lru_cache(maxsize=2048)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    """Django's, with each statement's placeholders turned from `%s` into SQLite's `?` once, not on every call
    (a regular expression over the text: 10 µs for an INSERT of three audit events)."""

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    _queue_fd: int | None = None
    _queued = False

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=CursorWrapper)

    def _start_transaction_under_autocommit(self):
        self._enter_queue()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._leave_queue()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._leave_queue()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._leave_queue()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._leave_queue()
            if self._queue_fd is not None:
                os.close(self._queue_fd)
                self._queue_fd = None

    def _enter_queue(self) -> None:
        if self.is_in_memory_db() or str(self.settings_dict["NAME"]).startswith("file:"):
            return  # one connection per process (the tests), or a URI this does not parse: SQLite's lock alone
        if self._queue_fd is None:
            # One descriptor per connection: flock locks belong to an open file, so two connections of one
            # process (two threads) queue like two processes.
            path = f"{self.settings_dict['NAME']}-writer"
            self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        started = time.monotonic()
        deadline = started + float(self.settings_dict["OPTIONS"].get("timeout", 5))
        # Threads of one process wait on a lock of the process, which wakes the next at once and costs nothing while
        # it waits; only the thread holding it polls the file lock against other processes.
        threads = _threads_queue(self.settings_dict["NAME"])
        if not threads.acquire(timeout=deadline - started):
            raise OperationalError("database is locked")
        try:
            self._take_file_lock(started, deadline)
        except BaseException:
            threads.release()
            raise
        self._queued = True

    def _take_file_lock(self, started: float, deadline: float) -> None:
        """Poll the file lock other processes queue on: every 0.1 ms at first, at most every 0.5 ms, every 10 ms
        once a second has gone by."""
        pause = FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._queue_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                now = time.monotonic()
                if now > deadline:
                    raise OperationalError("database is locked") from None
                time.sleep(pause)
                pause = PATIENT_PAUSE if now - started > PATIENT_AFTER else min(pause * 2, LONGEST_PAUSE)

    def _leave_queue(self) -> None:
        if self._queued:
            self._queued = False
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)
            _threads_queue(self.settings_dict["NAME"]).release()
