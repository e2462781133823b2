"""Versioned schema migrations, recorded in a ``migrations`` table and safe to re-run.

    applied = migrate(connection)          # [1, 2, ...] on a new file, [] the second time

Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the row that
records it, and the current version is read inside that transaction: two processes opening the
same new file at once apply each migration exactly once, the second finding it already recorded.
Add a migration by appending to ``MIGRATIONS`` with the next version; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from .connection import Connection
from .errors import SchemaTooNewError
from .models import HOST_STATES, LAUNCH_KINDS, LAUNCH_STATES, time_to_sql, utcnow

__all__ = ["MIGRATIONS", "Migration", "migrate", "schema_version"]


@dataclass(frozen=True)
class Migration:
    """One schema step: ``apply(db)`` runs inside the transaction that records ``version``."""

    version: int
    name: str
    apply: Callable[[Database], None]


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _initial_schema(db: Database) -> None:
    statements = [
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """
        CREATE TABLE credentials (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            api_key TEXT NOT NULL,
            api_secret TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX credentials_owner ON credentials (owner, created_at)",
        f"""
        CREATE TABLE launches (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ({_sql_list(LAUNCH_KINDS)})),
            requester TEXT NOT NULL,
            channel TEXT NOT NULL,
            message_ts TEXT,
            progress_ts TEXT,
            options TEXT NOT NULL DEFAULT '{{}}',
            zone TEXT NOT NULL,
            credential_id TEXT REFERENCES credentials (id),
            group_id TEXT,
            group_name TEXT,
            driver TEXT,
            port_audit TEXT NOT NULL DEFAULT '{{}}',
            target_host TEXT,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ({_sql_list(LAUNCH_STATES)})),
            approver TEXT,
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        "CREATE INDEX launches_state ON launches (state, expires_at)",
        "CREATE INDEX launches_created ON launches (created_at)",
        f"""
        CREATE TABLE hosts (
            id INTEGER PRIMARY KEY,
            launch_id TEXT NOT NULL REFERENCES launches (id),
            "index" INTEGER NOT NULL CHECK ("index" >= 1),
            name TEXT NOT NULL,
            zone TEXT NOT NULL,
            instance_id TEXT,
            ip TEXT,
            rancher_host_id TEXT,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ({_sql_list(HOST_STATES)})),
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            ready_at TEXT,
            UNIQUE (launch_id, "index")
        )""",
        "CREATE INDEX hosts_state ON hosts (state)",
        "CREATE INDEX hosts_name ON hosts (name)",
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            launch_id TEXT NOT NULL REFERENCES launches (id),
            host_id INTEGER REFERENCES hosts (id),
            kind TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            delivered_at TEXT
        )""",
        # One event of a kind per host; launch-wide events (no host) are unique per launch.
        "CREATE UNIQUE INDEX events_once ON events (launch_id, ifnull(host_id, 0), kind)",
        "CREATE INDEX events_undelivered ON events (id) WHERE delivered_at IS NULL",
        # No foreign key on launch_id: refused attempts name launches that may not exist.
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            launch_id TEXT,
            detail TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX audit_launch ON audit (launch_id, id)",
        """
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
        """
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    ]
    for statement in statements:
        db.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "initial schema", _initial_schema),)

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def schema_version(connection: Connection) -> int:
    """The highest migration recorded in the database, 0 for a new one."""
    if not connection.db["migrations"].exists():
        return 0
    row = connection.row("SELECT max(version) AS v FROM migrations")
    return (row or {}).get("v") or 0


def migrate(connection: Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the migrations this database lacks, in version order; return the versions applied."""
    ordered = sorted(migrations, key=lambda m: m.version)
    versions = [m.version for m in ordered]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {versions}")
    newest_known = versions[-1] if versions else 0
    applied: list[int] = []
    with connection.atomic() as db:
        db.execute(_MIGRATIONS_TABLE)
        current = schema_version(connection)
    if current > newest_known:
        raise SchemaTooNewError(
            f"the database schema is at version {current}, newer than this bot knows "
            f"({newest_known}); run a newer rancher-exoscale-bot or restore a backup"
        )
    for migration in ordered:
        with connection.atomic() as db:
            # Read again inside the write lock: another process may have applied it meanwhile.
            if migration.version <= schema_version(connection):
                continue
            migration.apply(db)
            db.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.name, time_to_sql(utcnow())],
            )
        applied.append(migration.version)
    return applied
