"""Tokens signed with moto's Cognito key: validly signed but with the claims a test needs (e.g. expired)."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import moto.cognitoidp

_KEY_FILE = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"


def signed_token(pool_id: str, client_id: str, username: str = "pk.andi", groups: tuple[str, ...] = ("pk",),
                 bapas_id: str = "jaksel", **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.ap-southeast-3.amazonaws.com/{pool_id}",
        "sub": str(uuid.uuid4()),
        "aud": client_id,
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "cognito:username": username,
        "cognito:groups": list(groups),
        "custom:bapas_id": bapas_id,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = jwt.PyJWK(json.loads(gzip.decompress(_KEY_FILE.read_bytes()))).key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(jwt.utils.base64url_decode(payload))
    data["custom:bapas_id"] = "makassar"
    forged = jwt.utils.base64url_encode(json.dumps(data).encode()).decode()
    return f"{header}.{forged}.{signature}"
