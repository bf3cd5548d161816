"""The officer directory: Cognito is the source of truth for who is a PK of which Bapas."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import client
from chalicelib.config import settings

_TTL_SECONDS = 300


@dataclass(frozen=True)
class Officer:
    username: str
    bapas_id: str
    groups: tuple[str, ...]
    name: str
    phone: str | None
    enabled: bool
    totp: bool = False  # TOTP (software token) MFA enabled and preferred: Cognito asks for a code at every sign-in

    @property
    def is_pk(self) -> bool:
        return "pk" in self.groups and self.enabled


class Directory:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, Officer | None]] = {}
        self._lock = threading.Lock()

    def officer(self, username: str) -> Officer | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(username)
        if hit and now - hit[0] < _TTL_SECONDS:
            return hit[1]
        found = self._load(username)
        with self._lock:
            self._cache[username] = (now, found)
        return found

    def _load(self, username: str) -> Officer | None:
        idp = client("cognito-idp")
        pool = settings().user_pool_id
        try:
            user = idp.admin_get_user(UserPoolId=pool, Username=username)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "UserNotFoundException":
                return None
            raise
        attrs = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        groups = idp.admin_list_groups_for_user(UserPoolId=pool, Username=username)["Groups"]
        return Officer(
            username=username,
            bapas_id=attrs.get("custom:bapas_id", ""),
            groups=tuple(g["GroupName"] for g in groups),
            name=attrs.get("name", username),
            phone=attrs.get("phone_number"),
            enabled=user.get("Enabled", True),
            totp="SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or [])
            and user.get("PreferredMfaSetting") == "SOFTWARE_TOKEN_MFA",
        )

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


DIRECTORY = Directory()
