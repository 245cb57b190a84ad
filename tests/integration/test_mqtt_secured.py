"""The edge publisher against the shipped production broker config: password file, ACL and TLS.

Proves the edge's topics (including the `cmd` subscription) fit the generated ACL, that TLS and
credentials from config or environment work, and that a refused login never prints the password.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.edge_messages import CommandMessage
from contract.wire import encode
from edge.config import MqttConfig, TlsConfig
from edge.mqtt_client import MqttPublisher
from edge.types import ZoneMetrics
from tests.support.mosquitto import find_mosquitto
from tests.support.mqtt_probe import Probe, wait_until
from tests.support.secured_broker import SecuredBroker, tls_broker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SITE, CAMERA = "pets", "view1"  # an edge user of INVENTORY
BASE = f"crowd/v1/{SITE}/{CAMERA}"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[SecuredBroker]:
    if find_mosquitto() is None or shutil.which("openssl") is None:
        pytest.skip("mosquitto or openssl is not installed")
    with tls_broker(tmp_path) as s:
        yield s


def interval(k: int) -> ZoneMetrics:
    return ZoneMetrics(
        camera=CAMERA, zone="crossing", frame_start=k, frame_end=k, t_start=float(k), t_end=float(k + 1),
        count=1.0, count_max=1, area_m2=10.0, density=0.1, speed_p50=None, speed_p85=None, los="A", stale=False,
    )  # fmt: skip


def watcher(s: SecuredBroker) -> Probe:
    return Probe(s.broker.host, s.broker.port, "crowd/v1/#", username="central", password=s.creds["central"])


def test_edge_publishes_over_tls_with_password_from_the_environment_and_obeys_the_acl(
    secured: SecuredBroker, tmp_path: Path
) -> None:
    central = watcher(secured)
    cfg = MqttConfig(
        host="localhost",
        port=secured.tls_port,
        username="edge-pets-view1",
        tls=TlsConfig(ca_certs=str(secured.ca)),
        queue_path=str(tmp_path / "q.sqlite"),
    )
    pub = MqttPublisher(cfg, site=SITE, camera=CAMERA, env={"CROWD_MQTT_PASSWORD": secured.creds["edge-pets-view1"]})
    pub.start()
    wait_until("edge connected over TLS", lambda: pub.connected)
    for k in range(3):
        pub.publish_metrics([interval(k)])
    assert pub.wait_drained(20)
    central.wait_for("3 metrics", lambda s: len(s) >= 4)  # online status + 3 intervals
    # Central may write the edge's cmd topic and the ACL lets the edge read it.
    central.publish(f"{BASE}/cmd", encode(CommandMessage(command="stats")))
    got = central.wait_for("stats answered", lambda s: any(m.topic == f"{BASE}/stats" for m in s))
    pub.stop()
    central.close()
    assert [m.json()["seq"] for m in got if m.topic.endswith("/metrics")] == [0, 1, 2]


def test_refused_login_is_logged_without_the_password(
    secured: SecuredBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = secured.creds["edge-pets-view2"]
    cfg = MqttConfig(
        host=secured.broker.host,
        port=secured.broker.port,
        username="edge-pets-view1",
        password=wrong,
        queue_path=str(tmp_path / "q.sqlite"),
    )
    pub = MqttPublisher(cfg, site=SITE, camera=CAMERA, env={})
    pub.start()
    pub.publish_metrics([interval(0)])
    wait_until("the refusal is logged", lambda: "refused the connection" in caplog.text)
    assert not pub.connected
    assert pub.buffered == 1, "the interval waits on disk for a working login"
    pub.stop(drain_timeout_s=0)
    assert wrong not in caplog.text
    assert "password set" in caplog.text
