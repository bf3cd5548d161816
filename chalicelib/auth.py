"""Cognito ID-token verification and the caller's identity.

The signature is always verified against the user pool's JWKS (Cognito in AWS, moto server locally),
with issuer, audience (the app client), expiry and `token_use` checked. Nothing is ever decode-only.
The JWKS is cached per process (an hour). A token naming an unknown key id triggers at most one refetch per
`_UNKNOWN_KID_SECONDS` (5 minutes) for the whole process: within that time every unknown `kid` is answered 401
from the cache, so junk tokens cannot make each request fetch the JWKS (negative cache). A failed fetch is
not retried for `_FETCH_FAILURE_BACKOFF_SECONDS`. The JWKS is fetched on first use, never at import; after a
SnapStart restore the cache's age is reset (`chalicelib/snapstart.py`). RS256 is verified by `chalicelib/rs256.py`
(standard library only; PyJWT checks the header, the algorithm allow-list and the claims).
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.config import settings
from chalicelib.errors import unauthorized

ROLES = ("pk", "coordinator", "admin")
_JWKS_TTL_SECONDS = 3600
_UNKNOWN_KID_SECONDS = 300
_FETCH_FAILURE_BACKOFF_SECONDS = 10
_LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    username: str
    sub: str
    role: str
    bapas_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_api(self) -> dict[str, str]:
        return {"username": self.username, "sub": self.sub, "role": self.role, "bapas_id": self.bapas_id}


class JwksCache:
    def __init__(self) -> None:
        self._keys: dict[str, Any] = {}
        self._url: str | None = None
        self._fetched_at = 0.0
        self._failed_at: float | None = None
        self.fetches = 0  # how many times the JWKS was requested (the tests count them)
        self._lock = threading.Lock()

    def _fetch(self, url: str, now: float) -> None:
        import jwt  # first use only: not part of the cold import
        import requests

        from chalicelib import rs256

        self.fetches += 1
        try:
            response = requests.get(url, timeout=5)
            response.raise_for_status()
            keys = {}
            for jwk in response.json().get("keys", []):
                keys[jwk.get("kid")] = rs256.key_from_jwk(jwk)
        except (requests.RequestException, ValueError, AttributeError, jwt.PyJWTError) as exc:
            self._failed_at = now
            raise unauthorized("The token's signing keys could not be loaded.") from exc
        self._keys, self._url, self._fetched_at, self._failed_at = keys, url, now, None

    def key(self, url: str, kid: str) -> Any:
        with self._lock:
            now = time.monotonic()
            stale = self._url != url or now - self._fetched_at > _JWKS_TTL_SECONDS
            # An unknown kid refetches only when the keys are older than the negative-cache time: a rotated
            # pool key is picked up within 5 minutes, a stream of junk kids costs one fetch per 5 minutes.
            refetch = stale or (kid not in self._keys and now - self._fetched_at > _UNKNOWN_KID_SECONDS)
            if refetch:
                if self._failed_at is not None and now - self._failed_at < _FETCH_FAILURE_BACKOFF_SECONDS:
                    raise unauthorized("The token's signing keys could not be loaded.")
                self._fetch(url, now)
            if kid not in self._keys:
                raise unauthorized("The token is not signed by this user pool.")
            return self._keys[kid]

    def clear(self) -> None:
        with self._lock:
            self._keys, self._url, self._fetched_at, self._failed_at = {}, None, 0.0, None

    def expire(self) -> None:
        """Make the cached keys (and a failed fetch's back-off) stale: the next token refetches them. After a
        SnapStart restore the monotonic clock says nothing about how long ago the snapshot was taken."""
        with self._lock:
            self._fetched_at, self._failed_at = float("-inf"), None


JWKS = JwksCache()


@functools.cache
def _decoder() -> Any:
    """PyJWT with `rs256` as its only algorithm, made on the first token (PyJWT is not part of the cold import)."""
    from chalicelib import rs256

    return rs256.decoder()


def verify_id_token(token: str) -> Principal:
    import jwt

    cfg = settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise unauthorized("The token is malformed.") from exc
    if header.get("alg") != "RS256":
        raise unauthorized("The token's algorithm is not accepted.")
    key = JWKS.key(cfg.jwks_url, header.get("kid", ""))
    try:
        claims = _decoder().decode(
            token,
            key=key,
            algorithms=["RS256"],
            audience=cfg.user_pool_client_id,
            issuer=cfg.issuer,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise unauthorized("The token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise unauthorized("The token is not valid for this API.") from exc
    if claims.get("token_use") != "id":
        raise unauthorized("An ID token is required.")
    return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    groups = claims.get("cognito:groups") or []
    # A user in several groups acts with the strongest role they hold.
    role = next((r for r in ("admin", "coordinator", "pk") if r in groups), None)
    bapas_id = claims.get("custom:bapas_id") or ""
    if role is None:
        raise unauthorized("The user belongs to no Pantau role group.")
    if not bapas_id and role != "admin":
        raise unauthorized("The user has no custom:bapas_id.")
    username = claims.get("cognito:username") or claims.get("username") or claims["sub"]
    return Principal(username=username, sub=claims["sub"], role=role, bapas_id=bapas_id)


def bearer_token(headers: Any) -> str:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    return token.strip()
