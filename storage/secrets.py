"""Encryption at rest for the secret columns: a Fernet cipher and its key file.

    key = load_or_create_key(key_path_for("bot.db"))   # bot.db.key, mode 0600, made once
    cipher = Cipher(key)
    token = cipher.encrypt("EXOabc")                     # ASCII, safe to store as TEXT
    assert cipher.decrypt(token) == "EXOabc"

The key comes from ``BOT_ENCRYPTION_KEY`` when the operator sets one, otherwise from a key file
beside the database. The file is written under a temporary name and hard-linked into place, so
two processes starting together agree on one key instead of each writing its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets as _random
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .errors import InvalidKeyError, StoreError, WrongKeyError

__all__ = ["Cipher", "generate_key", "key_path_for", "load_or_create_key"]


def generate_key() -> bytes:
    """A fresh random Fernet key (44 URL-safe base64 bytes)."""
    return Fernet.generate_key()


def key_path_for(db_path: str | os.PathLike[str]) -> Path:
    """Where the key file for a database lives: ``<db path>.key``."""
    return Path(f"{os.fspath(db_path)}.key")


class Cipher:
    """Encrypts and decrypts text with one Fernet key."""

    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise InvalidKeyError(
                "the encryption key is not a valid Fernet key (32 bytes, URL-safe base64)"
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        """Encrypt text; the result is ASCII and differs on every call."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt what ``encrypt`` returned; WrongKeyError when this key did not write it."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise WrongKeyError(
                "the encryption key does not decrypt the stored secrets; "
                "use the key the database was created with"
            ) from exc


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """Read the key file at ``path``, creating it (mode 0600, a new key) when it is missing."""
    path = Path(path)
    if not path.exists():
        _create_key_file(path)
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except (ValueError, TypeError) as exc:
        raise InvalidKeyError(f"the key file {path} does not hold a valid Fernet key") from exc
    return key


def _create_key_file(path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{_random.token_hex(8)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot create the key file {path}: {exc.strerror}") from exc
    try:
        try:
            # The umask can only remove bits; fchmod makes the mode exactly 0600 whatever it is.
            os.fchmod(fd, 0o600)
            os.write(fd, generate_key() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() fails when the name exists, so a key another process published first wins.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
