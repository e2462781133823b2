"""Users' Exoscale API keys, encrypted at rest and decrypted on read.

    credential_id = store.credentials.save(owner="U1", api_key="EXO...", api_secret="...")
    creds = store.credentials.get(credential_id)     # Credentials(id, owner, api_key, api_secret)

Both the key and the secret are encrypted: the key alone identifies the account, and neither
belongs in a backup or a copied database file in readable form.
"""

from __future__ import annotations

import secrets
from typing import Any

from .connection import Connection
from .models import Credentials, time_to_sql, utcnow
from .secrets import Cipher

__all__ = ["CredentialStore"]


class CredentialStore:
    """The ``credentials`` table."""

    def __init__(self, connection: Connection, cipher: Cipher) -> None:
        self._conn = connection
        self._cipher = cipher

    def save(self, *, owner: str, api_key: str, api_secret: str) -> str:
        """Store a key pair for ``owner`` and return its new id."""
        credential_id = secrets.token_hex(8)
        with self._conn.atomic() as db:
            db["credentials"].insert(
                {
                    "id": credential_id,
                    "owner": owner,
                    "api_key": self._cipher.encrypt(api_key),
                    "api_secret": self._cipher.encrypt(api_secret),
                    "created_at": time_to_sql(utcnow()),
                }
            )
        return credential_id

    def get(self, credential_id: str) -> Credentials | None:
        """The key pair with this id, decrypted, or None."""
        row = self._conn.row("SELECT * FROM credentials WHERE id = ?", [credential_id])
        return self._from_row(row) if row else None

    def latest_for(self, owner: str) -> Credentials | None:
        """The key pair ``owner`` saved most recently, or None."""
        row = self._conn.row(
            """
            SELECT * FROM credentials WHERE owner = ?
             ORDER BY created_at DESC, rowid DESC LIMIT 1""",
            [owner],
        )
        return self._from_row(row) if row else None

    def _from_row(self, row: dict[str, Any]) -> Credentials:
        return Credentials(
            id=row["id"],
            owner=row["owner"],
            api_key=self._cipher.decrypt(row["api_key"]),
            api_secret=self._cipher.decrypt(row["api_secret"]),
        )
