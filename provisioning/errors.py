"""Errors raised by the provisioning adapters, one tree for Exoscale and Rancher.

Lower-library errors (``requests``, the Exoscale SDK) are translated at the adapter edge into
these types, so the bot never sees a transport exception. ``.message`` is always a sentence a
person can act on, and never contains a secret::

    try:
        client.check_credentials()
    except ExoscaleAuthError as exc:
        say(exc.message)

    ProvisioningError(Exception)
     ├── ExoscaleError
     │    ├── ExoscaleAuthError      403: the API key was refused
     │    ├── ExoscaleRefused        other 4xx (bad request, not found, quota)
     │    ├── ExoscaleUnavailable    5xx/429 after retries, timeouts, connection errors
     │    └── OperationFailed        an Operation ended in failure or timed out
     └── RancherError
          ├── RancherAuthError       401/403
          ├── RancherRefused         other 4xx
          └── RancherUnavailable     5xx after retries, timeouts, connection errors
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ExoscaleAuthError",
    "ExoscaleError",
    "ExoscaleRefused",
    "ExoscaleUnavailable",
    "OperationFailed",
    "ProvisioningError",
    "RancherAuthError",
    "RancherError",
    "RancherRefused",
    "RancherUnavailable",
]


class ProvisioningError(Exception):
    """Base of every provisioning error; ``.message`` says what happened and what to do."""

    # Every message of the class starts with it, so a reader of a stored message knows its kind.
    prefix: ClassVar[str] = ""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        if self.prefix and not message.startswith(self.prefix):
            message = self.prefix + message
        super().__init__(message)
        self.message = message
        # The HTTP status when one was received, so callers can tell "not found" from "quota".
        self.status = status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ExoscaleError(ProvisioningError):
    """Something went wrong talking to the Exoscale API."""


class ExoscaleAuthError(ExoscaleError):
    """Exoscale refused the API key or its signature (HTTP 403)."""


class ExoscaleRefused(ExoscaleError):
    """Exoscale rejected the request itself (other 4xx: bad request, not found, quota)."""


class ExoscaleUnavailable(ExoscaleError):
    """Exoscale could not be reached or kept failing (5xx/429 after retries, timeouts).

    Worth trying again later.
    """

    prefix: ClassVar[str] = "Exoscale is unavailable: "


class OperationFailed(ExoscaleError):
    """An asynchronous Exoscale Operation ended in failure or did not finish in time."""

    def __init__(
        self, message: str, *, operation_id: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.operation_id = operation_id


class RancherError(ProvisioningError):
    """Something went wrong talking to the Rancher API."""


class RancherAuthError(RancherError):
    """Rancher refused the API keys (HTTP 401/403)."""


class RancherRefused(RancherError):
    """Rancher rejected the request itself (other 4xx)."""


class RancherUnavailable(RancherError):
    """Rancher could not be reached or kept failing (5xx after retries, timeouts)."""
