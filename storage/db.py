"""Opening the store: the 0600 database file, its key, the schema, and the repositories.

    store = open_store("rancher-exoscale-bot.db")            # key file beside it, made once
    with store.atomic():                                     # one transaction, any repositories
        if store.launches.transition(lid, from_states=("pending",), to="approved", approver=u):
            store.audit.record(actor=u, action="approve", launch_id=lid)

    store = Store.memory()                                   # tests: a private in-memory db

One connection serves every thread (Bolt listeners and scheduler jobs alike), serialised by a
lock; see ``storage.connection`` for why.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from sqlite_utils import Database

from .audit import AuditLog
from .connection import Connection
from .credentials import CredentialStore
from .errors import StoreError, WrongKeyError
from .events import Events
from .hosts import Hosts
from .launches import Launches
from .migrations import migrate
from .secrets import Cipher, generate_key, key_path_for, load_or_create_key

__all__ = ["Store", "open_store"]

# A known plaintext encrypted with the database's key, so a wrong key fails at start, not on
# the first user's credentials hours later.
_KEY_CHECK = "rancher-exoscale-bot key check"


class Store:
    """The repositories over one database, and the transaction that spans them."""

    def __init__(self, connection: Connection, cipher: Cipher, path: Path | None = None) -> None:
        self._conn = connection
        self.path = path
        self.launches = Launches(connection)
        self.hosts = Hosts(connection)
        self.events = Events(connection)
        self.credentials = CredentialStore(connection, cipher)
        self.audit = AuditLog(connection)

    @classmethod
    def memory(cls, key: bytes | None = None) -> Store:
        """A private in-memory store, migrated and ready (a fresh key when none is given)."""
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        return _prepare(conn, Cipher(key if key is not None else generate_key()), path=None)

    @property
    def db(self) -> Database:
        """The sqlite-utils Database, for tests and maintenance; the bot goes via repositories."""
        return self._conn.db

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """One transaction across repositories; other threads wait until it ends.

        Keep the block to database work: a network call inside it would hold every other
        thread's reads and writes for as long as the call takes.
        """
        with self._conn.atomic():
            yield self

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_store(
    path: str | os.PathLike[str], *, key: bytes | None = None, timeout: float = 30.0
) -> Store:
    """Open (creating with mode 0600) the database at ``path``, migrated to the current schema.

    ``key`` is the Fernet key for the secret columns; None reads ``<path>.key``, creating it with
    mode 0600 when missing. ``timeout`` is how long a write waits for another process's lock.
    """
    path = Path(path)
    # The key first: a bad key should fail before anything is created on disk.
    cipher = Cipher(key if key is not None else load_or_create_key(key_path_for(path)))
    _create_private(path)
    conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False, isolation_level=None)
    try:
        _enable_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = NORMAL")
        return _prepare(conn, cipher, path=path)
    except BaseException:
        conn.close()
        raise


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL, so readers carry on while a scheduler job writes.

    SQLite gives the -wal and -shm files the database file's mode, so they are 0600 too. The
    switch needs a moment of exclusive access and SQLite does not wait for it on the busy
    timeout, so when two processes open a new file together one of them retries here.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it; an existing file is left as is."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create the database {path}: {exc.strerror}") from exc
    try:
        # The umask can only remove bits; fchmod makes the mode exactly 0600 whatever it is.
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _prepare(conn: sqlite3.Connection, cipher: Cipher, *, path: Path | None) -> Store:
    connection = Connection(conn)
    migrate(connection)
    _check_key(connection, cipher, path)
    return Store(connection, cipher, path)


def _check_key(connection: Connection, cipher: Cipher, path: Path | None) -> None:
    with connection.atomic() as db:
        row = connection.row("SELECT value FROM meta WHERE key = 'key_check'")
        if row is None:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('key_check', ?)",
                [cipher.encrypt(_KEY_CHECK)],
            )
            return
    try:
        ok = cipher.decrypt(row["value"]) == _KEY_CHECK
    except WrongKeyError:
        ok = False
    if not ok:
        where = f" {path}" if path else ""
        raise WrongKeyError(
            f"the encryption key does not match the one the database{where} was created with; "
            "set the original BOT_ENCRYPTION_KEY or restore its key file"
        )
