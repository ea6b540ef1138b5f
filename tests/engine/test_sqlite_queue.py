"""lib/sqlite_backend: SQLite writers wait for each other on a file lock, and always let it go."""

import fcntl
import os
import threading
import time

import pytest
from django.db import OperationalError, connection

from lib.sqlite_backend.base import DatabaseWrapper, _threads_queue

pytestmark = pytest.mark.django_db  # lets these connections of their own open


@pytest.fixture
def open_writer(tmp_path):
    """A function making connections of the queued backend to one SQLite file (WAL, as in production)."""
    made = []

    def open_writer(timeout: float = 5):
        settings = {
            **connection.settings_dict,
            "ENGINE": "lib.sqlite_backend",
            "NAME": str(tmp_path / "queue.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": timeout,
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
        writer = DatabaseWrapper(settings, alias=f"queue-{len(made)}")
        writer.inc_thread_sharing()  # started in one thread, committed in another
        made.append(writer)
        return writer

    yield open_writer
    for writer in made:
        writer.close()


def begin(writer):
    """What transaction.atomic() does on SQLite: BEGIN (IMMEDIATE here), autocommit off."""
    writer.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def queue_is_taken(writer) -> bool:
    """Whether some connection holds the file lock writers queue on (probed from a descriptor of its own)."""
    fd = os.open(f"{writer.settings_dict['NAME']}-writer", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken by the probe
    return False


def finish(writer, how: str = "commit"):
    getattr(writer, how)()
    writer.set_autocommit(True)


def test_a_writer_waits_for_the_one_in_a_transaction_and_goes_on_when_it_commits(open_writer):
    first, second = open_writer(), open_writer()
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE t (n integer)")
    assert not queue_is_taken(first)
    begin(first)
    assert queue_is_taken(first)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    entered = []

    def write():
        begin(second)
        entered.append(time.monotonic())
        second.cursor().execute("INSERT INTO t VALUES (2)")
        finish(second)

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.3)
    assert entered == []  # still queued behind the open transaction
    committed = time.monotonic()
    finish(first)
    thread.join(5)
    assert entered and entered[0] >= committed
    assert sorted(first.cursor().execute("SELECT n FROM t").fetchall()) == [(1,), (2,)]
    assert not queue_is_taken(first)


def test_threads_of_one_process_queue_on_a_lock_of_the_process_before_the_file_lock(open_writer):
    """The second thread blocks on the process's lock (woken when the first commits) instead of polling the file."""
    first, second = open_writer(), open_writer()
    threads = _threads_queue(first.settings_dict["NAME"])
    begin(first)
    assert threads.locked() and queue_is_taken(first)
    waiting = threading.Thread(target=lambda: (begin(second), finish(second)))
    waiting.start()
    time.sleep(0.2)
    assert waiting.is_alive()
    finish(first)
    waiting.join(5)
    assert not waiting.is_alive()
    assert not threads.locked() and not queue_is_taken(first)


@pytest.mark.parametrize("how", ["rollback", "close"])
def test_the_queue_is_let_go_on_rollback_and_on_close(open_writer, how):
    first, second = open_writer(), open_writer(timeout=1)
    begin(first)
    if how == "close":
        first.close()
        first.set_autocommit(True)
    else:
        finish(first, how)
    assert not queue_is_taken(first)
    started = time.monotonic()
    begin(second)
    finish(second)
    assert time.monotonic() - started < 0.5


def test_a_writer_gives_up_after_the_timeout_as_sqlite_would(open_writer):
    first, second = open_writer(), open_writer(timeout=0.2)
    begin(first)
    with pytest.raises(OperationalError, match="database is locked"):
        begin(second)
    second.set_autocommit(True)
    finish(first)
    assert not queue_is_taken(first) and not _threads_queue(first.settings_dict["NAME"]).locked()  # nothing left held
    begin(second)
    finish(second)


def test_statements_are_converted_to_sqlites_placeholders_once():
    """lib.sqlite_backend.CursorWrapper: `%s` becomes `?` and `%%` a literal `%`, as in Django's, remembered by text."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's backend")
    from lib.sqlite_backend.base import _qmark

    query = "SELECT %s || '%%' || %s"
    with connection.cursor() as cursor:
        cursor.execute(query, ["a", "b"])
        assert cursor.fetchone() == ("a%b",)
        hits = _qmark.cache_info().hits
        cursor.execute(query, ["c", "d"])
        assert cursor.fetchone() == ("c%d",)
        assert _qmark.cache_info().hits == hits + 1
        cursor.execute("SELECT %(x)s", {"x": 5})  # named parameters go Django's way
        assert cursor.fetchone() == (5,)
