"""Credentials: encrypted at rest with the store's key, decrypted on read, hidden from repr."""

from __future__ import annotations

import pytest

from storage import InvalidKeyError, Store, WrongKeyError, generate_key, open_store

API_KEY = "EXOa1b2c3d4e5f6a7b8c9d0e1f2"
API_SECRET = "s3cr3t-Zm9vYmFyYmF6cXV4LWV4b3NjYWxl"


def test_save_and_get_round_trip(store):
    credential_id = store.credentials.save(owner="U0ME", api_key=API_KEY, api_secret=API_SECRET)
    creds = store.credentials.get(credential_id)
    assert (creds.id, creds.owner, creds.api_key, creds.api_secret) == (
        credential_id,
        "U0ME",
        API_KEY,
        API_SECRET,
    )
    assert store.credentials.get("0000000000000000") is None


def test_latest_for_owner_is_the_newest_pair(store):
    store.credentials.save(owner="U0ME", api_key="EXOold", api_secret="old")
    newest = store.credentials.save(owner="U0ME", api_key="EXOnew", api_secret="new")
    store.credentials.save(owner="U0YOU", api_key="EXOyours", api_secret="yours")
    assert store.credentials.latest_for("U0ME").id == newest
    assert store.credentials.latest_for("U0NOBODY") is None


def test_secret_is_not_in_repr(store):
    credential_id = store.credentials.save(owner="U0ME", api_key=API_KEY, api_secret=API_SECRET)
    assert API_SECRET not in repr(store.credentials.get(credential_id))


def test_columns_hold_ciphertext_not_the_values(store):
    store.credentials.save(owner="U0ME", api_key=API_KEY, api_secret=API_SECRET)
    row = store.db.execute("SELECT api_key, api_secret FROM credentials").fetchone()
    assert API_KEY not in row[0] and API_SECRET not in row[1]
    assert row[0].startswith("gAAAAA") and row[1].startswith("gAAAAA")


def test_secrets_are_nowhere_in_the_database_file_bytes(db_path, key):
    with open_store(db_path, key=key) as store:
        store.credentials.save(owner="U0ME", api_key=API_KEY, api_secret=API_SECRET)
        # While open, recent writes may sit in the WAL: check it too.
        on_disk = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
        assert any(p.name.endswith("-wal") for p in on_disk)
        for path in on_disk:
            data = path.read_bytes()
            assert API_KEY.encode() not in data and API_SECRET.encode() not in data, path
    data = db_path.read_bytes()
    assert b"U0ME" in data  # the owner is plain, so the scan does see row contents
    assert API_KEY.encode() not in data and API_SECRET.encode() not in data


def test_reopening_with_the_same_key_reads_the_secrets(db_path, key):
    with open_store(db_path, key=key) as store:
        credential_id = store.credentials.save(owner="U0ME", api_key=API_KEY, api_secret=API_SECRET)
    with open_store(db_path, key=key) as store:
        assert store.credentials.get(credential_id).api_secret == API_SECRET


def test_opening_with_another_key_fails_at_start(db_path, key):
    open_store(db_path, key=key).close()
    with pytest.raises(WrongKeyError, match=r"does not match.*bot\.db"):
        open_store(db_path, key=generate_key())


def test_key_file_is_created_once_and_reused(db_path):
    with open_store(db_path) as store:
        credential_id = store.credentials.save(owner="U0ME", api_key=API_KEY, api_secret=API_SECRET)
    key_file = db_path.with_name("bot.db.key")
    key_before = key_file.read_bytes()
    with open_store(db_path) as store:
        assert store.credentials.get(credential_id).api_key == API_KEY
    assert key_file.read_bytes() == key_before


def test_losing_the_key_file_fails_at_start_rather_than_mixing_keys(db_path):
    open_store(db_path).close()
    db_path.with_name("bot.db.key").unlink()
    with pytest.raises(WrongKeyError):
        open_store(db_path)


@pytest.mark.parametrize("bad", [b"", b"short", b"x" * 44, "not base64 at all!!"])
def test_invalid_key_argument_is_refused(db_path, bad):
    with pytest.raises(InvalidKeyError, match="not a valid Fernet key"):
        open_store(db_path, key=bad)
    with pytest.raises(InvalidKeyError):
        Store.memory(key=bad)


def test_invalid_key_file_is_refused_naming_the_file(db_path):
    db_path.with_name("bot.db.key").write_text("garbage\n")
    with pytest.raises(InvalidKeyError, match=r"bot\.db\.key"):
        open_store(db_path)


def test_invalid_key_creates_no_database_file(db_path):
    with pytest.raises(InvalidKeyError):
        open_store(db_path, key=b"short")
    assert not db_path.exists()
