"""The bot's only SQL: a SQLite store of launch requests, hosts, events, credentials and audit.

    from storage import open_store

    store = open_store("rancher-exoscale-bot.db")
    launch = store.launches.get("1a2b3c4d")

Repositories return the frozen dataclasses below, with timezone-aware UTC datetimes.
"""

from .db import Store, open_store
from .errors import (
    InvalidKeyError,
    NotFoundError,
    SchemaTooNewError,
    StoreError,
    WrongKeyError,
)
from .models import (
    HOST_STATES,
    LAUNCH_KINDS,
    LAUNCH_STATES,
    AuditEntry,
    Credentials,
    Event,
    Host,
    LaunchRequest,
    utcnow,
)
from .secrets import generate_key

__all__ = [
    "HOST_STATES",
    "LAUNCH_KINDS",
    "LAUNCH_STATES",
    "AuditEntry",
    "Credentials",
    "Event",
    "Host",
    "InvalidKeyError",
    "LaunchRequest",
    "NotFoundError",
    "SchemaTooNewError",
    "Store",
    "StoreError",
    "WrongKeyError",
    "generate_key",
    "open_store",
    "utcnow",
]
