#!/usr/bin/env python3
"""Generate Mosquitto's password file and ACL for one site from a small inventory (YAML).

    python configs/mosquitto/make_auth.py configs/mosquitto/inventory.example.yaml --out /etc/mosquitto/crowd

writes `acl`, `passwd` (hashed) and `credentials.yaml` (the clear passwords, mode 0600, to hand to
each device once) into `--out`. Re-running keeps every existing password, creates passwords for new
users and drops users no longer in the inventory (revocation). Reload the broker afterwards
(`kill -HUP <mosquitto pid>`), which re-reads both files without dropping connections.

Why explicit per-user blocks instead of `pattern` lines with `%u`/`%c`: a pattern applies to every
user, so a pattern that lets patrol `%u` write `owntracks/%u/+` would also let an edge write
`owntracks/<edge user>/x` and appear as a patrol; and camera ids are unique only within a site, so a
username cannot stand for a camera under every site. Generated blocks grant each user exactly its
own topics and nothing else; Mosquitto denies everything not granted once an ACL file is set.

Passwords are hashed here (PBKDF2-SHA512, Mosquitto 2's `$7$` format) rather than with
`mosquitto_passwd -b`, so that no password ever appears on a command line (visible in `ps`).
Only the standard library and PyYAML are needed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# Site ids that would make an edge's topics look like central's own topics.
_RESERVED_SITES = {"alerts", "patrols", "deadletter"}
DEFAULT_ITERATIONS = 1000


class InventoryError(ValueError):
    """The inventory cannot be turned into a safe ACL; the message says which entry and why."""


@dataclass(frozen=True)
class Grant:
    access: str  # "read" | "write" | "readwrite"
    topic: str


@dataclass(frozen=True)
class BrokerUser:
    username: str
    role: str  # "central" | "edge" | "patrol"
    grants: tuple[Grant, ...]


def _check_id(kind: str, value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise InventoryError(f"{kind} {value!r}: ids are 1-128 characters of A-Z a-z 0-9 _ . -")
    return value


def edge_username(site: str, camera: str) -> str:
    return f"edge-{site}-{camera}"


def central_grants(prefix: str) -> tuple[Grant, ...]:
    return (
        Grant("read", f"{prefix}/#"),
        Grant("read", "owntracks/#"),
        Grant("write", f"{prefix}/alerts/+"),
        Grant("write", f"{prefix}/+/zones/+/forecast"),
        Grant("write", f"{prefix}/deadletter"),
        # The command centre may send commands to any camera; nobody else can.
        Grant("write", f"{prefix}/+/+/cmd"),
    )


def edge_grants(prefix: str, site: str, camera: str) -> tuple[Grant, ...]:
    base = f"{prefix}/{site}/{camera}"
    return (
        Grant("write", f"{base}/status"),
        Grant("write", f"{base}/stats"),
        Grant("write", f"{base}/zones/+/metrics"),
        Grant("read", f"{base}/cmd"),
    )


def patrol_grants(prefix: str, patrol: str) -> tuple[Grant, ...]:
    # OwnTracks publishes `owntracks/<user>/<device>` and sub-topics such as `/event`; `+/#` covers both.
    return (
        Grant("write", f"owntracks/{patrol}/+/#"),
        Grant("write", f"{prefix}/patrols/{patrol}/location"),
    )


def users_from_inventory(inv: object) -> list[BrokerUser]:
    """Validate the inventory and list every broker user with exactly the topics it may use."""
    if not isinstance(inv, dict):
        raise InventoryError("the inventory must be a mapping with 'sites', 'patrols' and 'central'")
    unknown = set(inv) - {"topic_prefix", "sites", "patrols", "central"}
    if unknown:
        raise InventoryError(f"unknown inventory key(s): {sorted(unknown)}")
    prefix = inv.get("topic_prefix", "crowd/v1")
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "+#") or prefix.startswith("$"):
        raise InventoryError(f"topic_prefix {prefix!r}: must be a plain topic without wildcards")
    users: list[BrokerUser] = []
    for name in inv.get("central") or []:
        users.append(BrokerUser(_check_id("central user", name), "central", central_grants(prefix)))
    sites = inv.get("sites") or {}
    if not isinstance(sites, dict):
        raise InventoryError("sites: must map site id -> {cameras: [...]}")
    for site, spec in sites.items():
        _check_id("site", site)
        if site in _RESERVED_SITES:
            raise InventoryError(f"site {site!r}: reserved, its topics would collide with central's")
        cameras = spec.get("cameras") if isinstance(spec, dict) else None
        if not isinstance(cameras, list) or not cameras:
            raise InventoryError(f"sites.{site}.cameras: must be a non-empty list of camera ids")
        for camera in cameras:
            _check_id(f"sites.{site}.cameras entry", camera)
            users.append(BrokerUser(edge_username(site, camera), "edge", edge_grants(prefix, site, camera)))
    for patrol in inv.get("patrols") or []:
        users.append(BrokerUser(_check_id("patrol", patrol), "patrol", patrol_grants(prefix, patrol)))
    names = [u.username for u in users]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InventoryError(f"username(s) {dupes} would be used twice; rename a site, camera or patrol")
    if not users:
        raise InventoryError("the inventory names no users")
    return users


def render_acl(users: list[BrokerUser]) -> str:
    out = [
        "# Generated by configs/mosquitto/make_auth.py from the site inventory; edit the inventory, not this file.",
        "# Mosquitto denies every topic not granted below (no pattern lines: each user gets only its own topics).",
        "",
    ]
    for user in users:
        out.append(f"# {user.role}")
        out.append(f"user {user.username}")
        out.extend(f"topic {g.access} {g.topic}" for g in user.grants)
        out.append("")
    return "\n".join(out)


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """Mosquitto 2 `$7$` hash: PBKDF2-HMAC-SHA512 with a 12-byte salt, as `mosquitto_passwd` writes."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def merge_credentials(users: list[BrokerUser], existing: dict[str, str]) -> dict[str, str]:
    """Keep existing passwords, make new ones (256 bits, so no dictionary attack applies), drop revoked users."""
    return {u.username: existing.get(u.username) or secrets.token_urlsafe(32) for u in users}


def _write_private(path: Path, text: str) -> None:
    # Create with 0600 from the start: a chmod after writing would leave a window where the file is readable.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InventoryError(f"{path}: must map username -> password")
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("inventory", type=Path, help="site inventory YAML (see inventory.example.yaml)")
    ap.add_argument("--out", type=Path, required=True, help="folder for acl, passwd and credentials.yaml")
    ap.add_argument("--credentials", type=Path, help="clear-text credentials file (default: OUT/credentials.yaml)")
    ap.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS, help="PBKDF2 iterations per hash")
    args = ap.parse_args(argv)
    try:
        inv = yaml.safe_load(args.inventory.read_text(encoding="utf-8"))
        users = users_from_inventory(inv)
        cred_path: Path = args.credentials or args.out / "credentials.yaml"
        old = _read_credentials(cred_path)
    except (OSError, yaml.YAMLError, InventoryError) as err:
        print(f"make_auth: {args.inventory}: {err}", file=sys.stderr)
        return 2
    creds = merge_credentials(users, old)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "acl").write_text(render_acl(users), encoding="utf-8")
    _write_private(args.out / "passwd", "".join(f"{u}:{hash_password(p, args.iterations)}\n" for u, p in creds.items()))
    _write_private(cred_path, yaml.safe_dump(creds, sort_keys=False))
    revoked = sorted(set(old) - set(creds))
    added = sorted(set(creds) - set(old))
    print(f"make_auth: {len(creds)} users ({len(added)} new, {len(revoked)} revoked) -> {args.out}")
    for name in revoked:
        print(f"make_auth: revoked {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
