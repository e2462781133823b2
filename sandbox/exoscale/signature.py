"""EXO2-HMAC-SHA256 request signatures, checked the way Exoscale API v2 checks them.

The message signed is five parts joined by newlines: ``"METHOD /path"``, the exact body bytes,
the values of the single-valued query arguments named in ``signed-query-args`` (in that order),
an empty signed-headers part, and the expiry timestamp::

    key = verify("GET", "/ch-gva-2/v2/zone?k1=v1", b"", header, {"EXO...": "secret"}, time.time())
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

__all__ = ["ALGORITHM", "SignatureError", "sign", "verify"]

ALGORITHM = "EXO2-HMAC-SHA256"


class SignatureError(Exception):
    """The request's Authorization header is missing, malformed, expired or does not match."""


def _message(method: str, path: str, body: bytes, query_values: str, expires: str) -> bytes:
    return b"\n".join(
        [
            f"{method.upper()} {path}".encode(),
            body,
            query_values.encode(),
            b"",
            expires.encode(),
        ]
    )


def _signature(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.standard_b64encode(digest).decode()


def _single_values(query: dict[str, list[str]], names: list[str]) -> str:
    # Arguments given more than once are named but their values are not signed (official client).
    return "".join(query[name][0] for name in names if len(query.get(name, ())) == 1)


def sign(
    method: str, url_path_with_query: str, body: bytes, key: str, secret: str, expires: int
) -> str:
    """Return the Authorization header value the official client would send.

    >>> sign("GET", "/v2/zone", b"", "EXOkey", "secret", 1599140767)[:40]
    'EXO2-HMAC-SHA256 credential=EXOkey,expir'
    """
    parts = urlsplit(url_path_with_query)
    query = parse_qs(parts.query)
    names = sorted(query)
    header = f"{ALGORITHM} credential={key}"
    if names:
        header += ",signed-query-args=" + ";".join(names)
    message = _message(method, parts.path, body, _single_values(query, names), str(expires))
    return f"{header},expires={expires},signature={_signature(secret, message)}"


def _parse(authorization: str) -> dict[str, str]:
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme != ALGORITHM:
        raise SignatureError(f"unsupported authorization scheme; expected {ALGORITHM}")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not name:
            raise SignatureError("malformed Authorization header")
        fields[name] = value
    for required in ("credential", "expires", "signature"):
        if not fields.get(required):
            raise SignatureError(f"malformed Authorization header: no {required}")
    return fields


def verify(
    method: str,
    url_path_with_query: str,
    body: bytes,
    authorization: str | None,
    secrets: Mapping[str, str],
    now: float,
) -> str:
    """Check a request's EXO2-HMAC-SHA256 signature and return the API key that signed it.

    ``url_path_with_query`` is the request target exactly as received (``/v2/zone?k1=v1``; a
    full URL is accepted too). ``secrets`` maps API keys to secrets. Raises SignatureError with
    the reason when the header is missing or malformed, the key unknown, the request expired,
    a query argument unsigned, or the signature wrong.
    """
    if not authorization:
        raise SignatureError("missing Authorization header")
    fields = _parse(authorization)
    key = fields["credential"]
    secret = secrets.get(key)
    if secret is None:
        raise SignatureError("unknown API key")
    try:
        expires = int(fields["expires"])
    except ValueError:
        raise SignatureError("malformed Authorization header: expires is not a timestamp") from None
    if expires < now:
        raise SignatureError("request expired")

    parts = urlsplit(url_path_with_query)
    query = parse_qs(parts.query)
    signed = [name for name in fields.get("signed-query-args", "").split(";") if name]
    unsigned = sorted(set(query) - set(signed))
    if unsigned:
        raise SignatureError("query arguments not signed: " + ", ".join(unsigned))
    message = _message(method, parts.path, body, _single_values(query, signed), fields["expires"])
    if not hmac.compare_digest(_signature(secret, message), fields["signature"]):
        raise SignatureError("invalid request signature")
    return key
