"""Errors raised by the store, one small tree so callers can catch ``StoreError`` alone.

try:
    store = open_store(settings.database, key=settings.encryption_key)
except StoreError as exc:
    sys.exit(str(exc))

StoreError(Exception)
 ├── NotFoundError      no row with that id (also a LookupError)
 ├── InvalidKeyError    the encryption key is not a valid Fernet key (also a ValueError)
 ├── WrongKeyError      the key does not decrypt what this database holds
 └── SchemaTooNewError  the file was migrated by a newer version of the bot
"""

from __future__ import annotations

__all__ = [
    "InvalidKeyError",
    "NotFoundError",
    "SchemaTooNewError",
    "StoreError",
    "WrongKeyError",
]


class StoreError(Exception):
    """Base of every error the store raises on purpose; ``str()`` is one line for an operator."""


class NotFoundError(StoreError, LookupError):
    """The id given to a repository matches no row."""


class InvalidKeyError(StoreError, ValueError):
    """The encryption key (argument or key file) is not a valid Fernet key."""


class WrongKeyError(StoreError):
    """The encryption key is valid but is not the key this database's secrets were written with."""


class SchemaTooNewError(StoreError):
    """The database carries migrations this code does not know; refuse rather than guess."""
