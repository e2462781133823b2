"""The database, its WAL files and the key file are readable by their owner only."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator

import pytest

from storage import StoreError, open_store
from storage.secrets import load_or_create_key


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask of 0, so any mode we get is the one we asked for, not the umask's doing."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_database_and_key_file_are_0600(db_path, permissive_umask):
    with open_store(db_path):
        pass
    assert mode(db_path) == 0o600
    assert mode(db_path.with_name("bot.db.key")) == 0o600


def test_wal_and_shm_files_are_0600(db_path, key, permissive_umask):
    with open_store(db_path, key=key) as store:
        store.audit.record(actor="U0", action="write something")
        wal = db_path.with_name("bot.db-wal")
        shm = db_path.with_name("bot.db-shm")
        assert wal.exists() and shm.exists()
        assert (mode(wal), mode(shm)) == (0o600, 0o600)


def test_existing_database_file_mode_is_left_alone(db_path, key):
    open_store(db_path, key=key).close()
    os.chmod(db_path, 0o640)  # an operator's deliberate choice, e.g. a backup group
    open_store(db_path, key=key).close()
    assert mode(db_path) == 0o640


@pytest.mark.parametrize(
    ("with_key", "what"), [(True, "the database"), (False, "the key file")], ids=["key", "key-file"]
)
def test_missing_directory_fails_with_a_clear_message(tmp_path, key, with_key, what):
    with pytest.raises(StoreError, match=rf"cannot create {what} .*nothere"):
        open_store(tmp_path / "nothere" / "bot.db", key=key if with_key else None)


def test_key_file_created_by_racing_threads_is_one_key(tmp_path, permissive_umask):
    path = tmp_path / "race.key"
    barrier = threading.Barrier(8)
    keys: list[bytes] = []

    def load() -> None:
        barrier.wait(timeout=10)
        keys.append(load_or_create_key(path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(keys) == 8 and len(set(keys)) == 1
    assert path.read_bytes().strip() == keys[0]
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["race.key"]  # no temporary files left
