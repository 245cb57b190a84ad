"""Central's config (errors name the key) and auth pieces (argon2, signed expiring tokens; login throttling: test_login_throttle.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.auth import Authenticator, User, hash_password, users_from_config, verify_password
from central.config import ConfigError, load, parse

REPO = Path(__file__).resolve().parents[2]
RING = [[8.54, 47.37], [8.5404, 47.37], [8.5404, 47.3702], [8.54, 47.3702]]


def _zone(**kw: object) -> dict[str, object]:
    return {"id": "z1", "camera": "cam1", "edge_zone": "a", "polygon": RING, **kw}


def test_example_config_loads_with_fruin_defaults() -> None:
    cfg = load(REPO / "configs" / "central.example.yaml")
    assert cfg.site.thresholds.warning == 2.0 and cfg.site.thresholds.critical == 4.0
    crossing = next(z for z in cfg.zones if z.id == "pets-crossing")
    assert crossing.camera == "pets09-view001" and cfg.zone_thresholds(crossing).critical == 4.0
    north = next(z for z in cfg.zones if z.id == "pets-crossing-north")
    assert cfg.zone_thresholds(north).warning == 1.5
    assert cfg.site.timezone == "Europe/London" and cfg.forecast.season_s == 7 * 86400
    assert cfg.backlog.lag_s == 30 and {c.id for c in cfg.cameras} >= {"pets09-view001"}


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"zones": [_zone(polygon=[[47.37, 8.54], [47.37, 200.0], [47.38, 8.55]])]}, "zones.0.polygon"),
        ({"zones": [_zone(thresholds={"warning": 3, "critical": 2})]}, "zones.0.thresholds"),
        ({"zones": [_zone(), _zone()]}, "zone id"),
        ({"mqtt": {"port": "many"}}, "mqtt.port"),
        ({"users": [{"username": "a", "role": "boss", "password_env": "X"}]}, "users.0.role"),
        ({"users": [{"username": "a", "role": "admin"}]}, "users.0"),
        ({"alerts": {"pending_s": -1}}, "alerts.pending_s"),
        ({"bogus": 1}, "bogus"),
        ({"site": {"timezone": "Mars/Olympus"}}, "site.timezone"),
        ({"cameras": [{"id": "c1", "lon": 8.5}]}, "cameras.0.lat"),
        ({"cameras": [{"id": "c1", "lon": 47.4, "lat": 95.0}]}, "cameras.0.lat"),
        ({"cameras": [{"id": "c1", "lon": 8.5, "lat": 47.4}, {"id": "c1", "lon": 8.6, "lat": 47.4}]}, "twice"),
        ({"backlog": {"lag_s": -5}}, "backlog.lag_s"),
    ],
)
def test_config_errors_name_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(data)
    assert key in str(err.value)


def test_missing_password_env_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROWD_TEST_NOPE", raising=False)
    cfg = parse({"users": [{"username": "a", "role": "admin", "password_env": "CROWD_TEST_NOPE"}]})
    with pytest.raises(ConfigError, match="CROWD_TEST_NOPE"):
        users_from_config(cfg)
    monkeypatch.setenv("CROWD_TEST_NOPE", "pw-from-env")
    users = users_from_config(cfg)
    assert users["a"].password_hash.startswith("$argon2") and verify_password(users["a"].password_hash, "pw-from-env")


def test_argon2_hash_and_verify() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$") and "correct horse" not in h
    assert verify_password(h, "correct horse") and not verify_password(h, "wrong")
    assert not verify_password("not a hash", "x")


def _auth(ttl_s: float = 100.0) -> Authenticator:
    return Authenticator({"olga": User("olga", "operator", hash_password("pw-olga"))}, b"k" * 32, ttl_s)


def test_tokens_expire_and_cannot_be_forged_or_reused_after_logout() -> None:
    auth = _auth()
    user = auth.check_password("olga", "pw-olga")
    assert user is not None and auth.check_password("olga", "nope") is None and auth.check_password("x", "y") is None
    token, sess = auth.issue(user, now_s=1000.0)
    assert auth.verify(token, 1050.0) == sess
    assert auth.verify(token, 1100.0) is None  # expired
    body, sig = token.split(".")
    assert auth.verify(body + "." + sig[:-2] + "AA", 1050.0) is None
    other = Authenticator(auth.users, b"z" * 32, 100.0)
    assert other.verify(token, 1050.0) is None  # another secret
    auth.revoke(sess)
    assert auth.verify(token, 1050.0) is None


def test_a_token_dies_with_its_users_role_change() -> None:
    auth = _auth()
    token, _ = auth.issue(auth.users["olga"], 1000.0)
    auth.users["olga"] = User("olga", "viewer", auth.users["olga"].password_hash)
    assert auth.verify(token, 1001.0) is None
