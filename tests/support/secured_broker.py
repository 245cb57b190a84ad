"""The shipped production broker config (password file, ACL, TLS) on a real Mosquitto, for tests.

Used by test_broker_acl.py (the ACL itself) and test_mqtt_secured.py (the edge publisher through it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.mosquitto import MosquittoBroker, free_port

__all__ = ["INVENTORY", "MOSQ_DIR", "SecuredBroker", "generate_auth", "production_config", "tls_broker"]

REPO = Path(__file__).resolve().parents[2]
MOSQ_DIR = REPO / "configs" / "mosquitto"
# Directives the test broker sets itself (port, persistence folder) or that would hide the log.
_TEST_OWNED = {"listener", "persistence", "persistence_location", "autosave_interval", "log_dest"}

INVENTORY: dict[str, object] = {
    "topic_prefix": "crowd/v1",
    "sites": {"pets": {"cameras": ["view1", "view2"]}, "north": {"cameras": ["view1"]}},
    "patrols": ["p1", "p2"],
    "central": ["central"],
}


def production_config(conf: Path, auth_dir: Path) -> str:
    """The shipped config, with its file paths pointed at the generated files and the listener left to the test."""
    out = []
    for line in conf.read_text().splitlines():
        key = line.split(maxsplit=1)[0] if line.strip() and not line.lstrip().startswith("#") else ""
        if key in _TEST_OWNED:
            continue
        if key == "password_file":
            line = f"password_file {auth_dir / 'passwd'}"
        elif key == "acl_file":
            line = f"acl_file {auth_dir / 'acl'}"
        elif key in ("cafile", "certfile", "keyfile"):
            line = f"{key} {auth_dir / Path(line.split()[1]).name}"
        out.append(line)
    if os.geteuid() == 0:
        # Started as root, Mosquitto drops to user `mosquitto`, who cannot read the test's 0600 files.
        out.append("user root")
    return "\n".join(out)


def generate_auth(tmp: Path, inventory: dict[str, object]) -> dict[str, str]:
    inv = tmp / "inventory.yaml"
    inv.write_text(yaml.safe_dump(inventory))
    out = tmp / "auth"
    res = subprocess.run(
        [sys.executable, str(MOSQ_DIR / "make_auth.py"), str(inv), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    creds = yaml.safe_load((out / "credentials.yaml").read_text())
    assert isinstance(creds, dict)
    return creds


@dataclass(frozen=True)
class SecuredBroker:
    broker: MosquittoBroker
    tls_port: int
    ca: Path
    creds: dict[str, str]


@contextmanager
def tls_broker(tmp_path: Path) -> Iterator[SecuredBroker]:
    """A broker on the shipped TLS config with INVENTORY's users and a throwaway CA; needs mosquitto and openssl."""
    creds = generate_auth(tmp_path, INVENTORY)
    auth = tmp_path / "auth"
    subprocess.run(["bash", str(MOSQ_DIR / "make_test_ca.sh"), str(auth)], check=True, capture_output=True, timeout=60)
    tls_port = free_port()
    conf = production_config(MOSQ_DIR / "mosquitto-tls.conf", auth)
    # The test broker listens on its own plain port; the example's TLS listener moves to a free port.
    conf = conf.replace("\ncafile", f"\nlistener {tls_port} 127.0.0.1\ncafile")
    broker = MosquittoBroker(tmp_path / "broker", extra_config=conf)
    broker.start()
    try:
        yield SecuredBroker(broker, tls_port, auth / "ca.crt", creds)
    finally:
        broker.stop()
