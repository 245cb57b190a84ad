"""API stage, auth: users, passwords (argon2), signed expiring tokens and CSRF tokens (login throttling: login_throttle.py) (pure but for time)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from central.config import CentralConfig, user_password_source

ROLES = ("viewer", "operator", "admin")
_hasher = PasswordHasher()
# Verifying against this keeps a wrong username as slow as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("no such user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class User:
    username: str
    role: str
    password_hash: str


@dataclass(frozen=True)
class Session:
    username: str
    role: str
    expires_at: float
    csrf: str
    token_id: str


def users_from_config(cfg: CentralConfig) -> dict[str, User]:
    """Plain passwords from the environment are hashed at start-up and never kept."""
    out: dict[str, User] = {}
    for u in cfg.users:
        kind, value = user_password_source(u)
        out[u.username] = User(u.username, u.role, value if kind == "hash" else hash_password(value))
    return out


class Authenticator:
    def __init__(self, users: dict[str, User], secret: bytes, ttl_s: float) -> None:
        self.users = users
        self._secret = secret
        self.ttl_s = ttl_s
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()

    def check_password(self, username: str, password: str) -> User | None:
        user = self.users.get(username)
        if user is None:
            verify_password(_DUMMY_HASH, password)
            return None
        return user if verify_password(user.password_hash, password) else None

    def issue(self, user: User, now_s: float) -> tuple[str, Session]:
        token_id = secrets.token_urlsafe(12)
        csrf = secrets.token_urlsafe(18)
        expires_at = now_s + self.ttl_s
        body = {"u": user.username, "r": user.role, "exp": expires_at, "csrf": csrf, "jti": token_id}
        raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=")
        sig = base64.urlsafe_b64encode(hmac.new(self._secret, raw, hashlib.sha256).digest()).rstrip(b"=")
        return (raw + b"." + sig).decode(), Session(user.username, user.role, expires_at, csrf, token_id)

    def verify(self, token: str, now_s: float) -> Session | None:
        try:
            raw, sig = token.encode().split(b".", 1)
            want = base64.urlsafe_b64encode(hmac.new(self._secret, raw, hashlib.sha256).digest()).rstrip(b"=")
            if not hmac.compare_digest(sig, want):
                return None
            body = json.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
            sess = Session(str(body["u"]), str(body["r"]), float(body["exp"]), str(body["csrf"]), str(body["jti"]))
        except (ValueError, KeyError, TypeError):
            return None
        if sess.expires_at <= now_s or sess.role not in ROLES:
            return None
        user = self.users.get(sess.username)
        if user is None or user.role != sess.role:
            return None  # the user was removed or changed role since the token was issued
        with self._lock:
            if sess.token_id in self._revoked:
                return None
        return sess

    def revoke(self, sess: Session) -> None:
        with self._lock:
            self._revoked[sess.token_id] = sess.expires_at
            # Forget revocations of tokens that have expired anyway.
            for k in [k for k, exp in self._revoked.items() if exp < sess.expires_at - 2 * self.ttl_s]:
                del self._revoked[k]


def can_change_alerts(role: str) -> bool:
    return role in ("operator", "admin")
