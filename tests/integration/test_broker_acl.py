"""The production broker config with a generated password file and ACL, against a real Mosquitto.

A publish to a topic the ACL denies is dropped silently by Mosquitto (the publisher may even get a
success ack), so denial is proven by a privileged subscriber that does NOT see the denied message
but DOES see an allowed "sentinel" published after it on the same connection: Mosquitto delivers
one publisher's messages in order, so anything not seen before the sentinel was never delivered.
"""

from __future__ import annotations

import queue
import shutil
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.support.mosquitto import MosquittoBroker, find_mosquitto
from tests.support.secured_broker import INVENTORY, MOSQ_DIR, generate_auth, production_config, tls_broker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

WAIT_S = 5.0


class Client:
    """A paho MQTT 5 client that records what it receives and how its connection attempt ended."""

    def __init__(self, host: str, port: int, username: str | None, password: str | None, tls_ca: Path | None = None):
        self.received: queue.Queue[tuple[str, bytes | bytearray]] = queue.Queue()
        self.connack: queue.Queue[ReasonCode] = queue.Queue()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        if username is not None:
            self.c.username_pw_set(username, password)
        if tls_ca is not None:
            self.c.tls_set(ca_certs=str(tls_ca), cert_reqs=ssl.CERT_REQUIRED)
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda _c, _u, msg: self.received.put((msg.topic, msg.payload))
        self.host, self.port = host, port

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: Properties | None) -> None:
        self.connack.put(rc)

    def connect(self) -> ReasonCode:
        self.c.connect(self.host, self.port, keepalive=30)
        self.c.loop_start()
        rc = self.connack.get(timeout=WAIT_S)
        if rc.is_failure:
            self.close()
        return rc

    def subscribe(self, *topics: str) -> None:
        done: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.c.on_subscribe = lambda _c, _u, _mid, rcs, _p: done.put(rcs)
        self.c.subscribe([(t, 1) for t in topics])
        done.get(timeout=WAIT_S)

    def publish(self, topic: str, payload: str) -> None:
        info = self.c.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=WAIT_S)

    def received_until(self, sentinel_topic: str) -> list[str]:
        """Topics received up to and including the sentinel; fails if the sentinel never comes."""
        topics = []
        while True:
            topic, _ = self.received.get(timeout=WAIT_S)
            topics.append(topic)
            if topic == sentinel_topic:
                return topics

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[MosquittoBroker, dict[str, str]]]:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    creds = generate_auth(tmp_path, INVENTORY)
    broker = MosquittoBroker(
        tmp_path / "broker", extra_config=production_config(MOSQ_DIR / "mosquitto.conf", tmp_path / "auth")
    )
    broker.start()
    yield broker, creds
    broker.stop()


def login(broker: MosquittoBroker, creds: dict[str, str], user: str) -> Client:
    c = Client(broker.host, broker.port, user, creds[user])
    rc = c.connect()
    assert not rc.is_failure, f"{user} could not log in: {rc}"
    return c


def test_anonymous_and_wrong_password_are_refused(secured: tuple[MosquittoBroker, dict[str, str]]) -> None:
    broker, creds = secured
    anon = Client(broker.host, broker.port, None, None)
    assert anon.connect().is_failure
    wrong = Client(broker.host, broker.port, "edge-pets-view1", creds["edge-pets-view2"])
    assert wrong.connect().is_failure
    unknown = Client(broker.host, broker.port, "intruder", "x")
    assert unknown.connect().is_failure
    # The right password for the same user does get in: the refusals above are about the credentials.
    login(broker, creds, "edge-pets-view1").close()


def test_edge_writes_only_its_own_camera_topics(secured: tuple[MosquittoBroker, dict[str, str]]) -> None:
    broker, creds = secured
    watcher = login(broker, creds, "central")
    watcher.subscribe("crowd/v1/#", "owntracks/#")
    edge = login(broker, creds, "edge-pets-view1")
    denied = [
        "crowd/v1/pets/view2/zones/z1/metrics",  # another camera of the same site
        "crowd/v1/pets/view2/status",
        "crowd/v1/north/view1/zones/z1/metrics",  # the same camera id on another site
        "crowd/v1/alerts/a1",  # posing as central
        "crowd/v1/pets/zones/z1/forecast",
        "crowd/v1/deadletter",
        "crowd/v1/pets/view2/cmd",
        "owntracks/p1/phone",  # posing as a patrol
        "crowd/v1/patrols/p1/location",
        "crowd/v1/pets/view1/zones/z1/extra",  # its own camera, but not a topic an edge publishes
    ]
    allowed = ["crowd/v1/pets/view1/status", "crowd/v1/pets/view1/stats", "crowd/v1/pets/view1/zones/z1/metrics"]
    for topic in denied:
        edge.publish(topic, "{}")
    for topic in allowed:
        edge.publish(topic, "{}")
    assert watcher.received_until(allowed[-1]) == allowed
    edge.close()
    watcher.close()


def test_patrol_writes_only_its_own_position(secured: tuple[MosquittoBroker, dict[str, str]]) -> None:
    broker, creds = secured
    watcher = login(broker, creds, "central")
    watcher.subscribe("crowd/v1/#", "owntracks/#")
    patrol = login(broker, creds, "p1")
    for topic in [
        "owntracks/p2/phone",
        "crowd/v1/patrols/p2/location",
        "crowd/v1/pets/view1/status",
        "crowd/v1/alerts/x",
    ]:
        patrol.publish(topic, "{}")
    allowed = ["owntracks/p1/phone", "owntracks/p1/phone/event", "crowd/v1/patrols/p1/location"]
    for topic in allowed:
        patrol.publish(topic, "{}")
    assert watcher.received_until(allowed[-1]) == allowed
    patrol.close()
    watcher.close()


def test_edges_and_patrols_cannot_read_others_data(secured: tuple[MosquittoBroker, dict[str, str]]) -> None:
    """Patrol positions and other cameras' data reach central only: an edge subscribing to everything gets its commands."""
    broker, creds = secured
    nosy_edge = login(broker, creds, "edge-pets-view1")
    nosy_edge.subscribe("crowd/v1/#", "owntracks/#", "#")
    nosy_patrol = login(broker, creds, "p2")
    nosy_patrol.subscribe("owntracks/#", "crowd/v1/#")
    login(broker, creds, "edge-pets-view2").publish("crowd/v1/pets/view2/zones/z1/metrics", "{}")
    login(broker, creds, "p1").publish("owntracks/p1/phone", '{"_type": "location"}')
    central = login(broker, creds, "central")
    central.publish("crowd/v1/alerts/a1", "{}")
    central.publish("crowd/v1/pets/view1/cmd", "{}")
    assert nosy_edge.received_until("crowd/v1/pets/view1/cmd") == ["crowd/v1/pets/view1/cmd"]
    # A patrol may read nothing, so it has no sentinel; every publish above was acknowledged, hence
    # already routed by the broker, and a second is ample for a delivery that should not happen.
    with pytest.raises(queue.Empty):
        nosy_patrol.received.get(timeout=1.0)
    for c in (nosy_edge, nosy_patrol, central):
        c.close()


def test_central_reads_all_via_shared_subscription_and_writes_alerts_and_forecasts(
    secured: tuple[MosquittoBroker, dict[str, str]],
) -> None:
    broker, creds = secured
    worker = login(broker, creds, "central")
    worker.subscribe("$share/central/crowd/v1/+/+/zones/+/metrics", "crowd/v1/alerts/+", "crowd/v1/+/zones/+/forecast")
    edge = login(broker, creds, "edge-pets-view1")
    edge.publish("crowd/v1/pets/view1/zones/z1/metrics", "{}")
    publisher = login(broker, creds, "central")
    publisher.publish("crowd/v1/pets/view1/status", "{}")  # central must not pose as an edge
    publisher.publish("owntracks/p1/phone", "{}")  # nor as a patrol
    publisher.publish("crowd/v1/alerts/a1", "{}")
    publisher.publish("crowd/v1/pets/zones/z1/forecast", "{}")
    got = worker.received_until("crowd/v1/pets/zones/z1/forecast")
    assert sorted(got) == sorted(
        ["crowd/v1/pets/view1/zones/z1/metrics", "crowd/v1/alerts/a1", "crowd/v1/pets/zones/z1/forecast"]
    )


def test_revoked_user_is_refused_after_regeneration(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    creds = generate_auth(tmp_path, INVENTORY)
    smaller = {**INVENTORY, "patrols": ["p1"]}
    creds2 = generate_auth(tmp_path, smaller)
    assert "p2" not in creds2
    assert creds2["p1"] == creds["p1"], "regenerating must keep existing passwords"
    broker = MosquittoBroker(
        tmp_path / "broker", extra_config=production_config(MOSQ_DIR / "mosquitto.conf", tmp_path / "auth")
    )
    broker.start()
    try:
        assert Client(broker.host, broker.port, "p2", creds["p2"]).connect().is_failure
        login(broker, creds2, "p1").close()
    finally:
        broker.stop()


def test_tls_example_config_serves_tls_with_the_same_acl(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    with tls_broker(tmp_path) as s:
        creds, tls_port = s.creds, s.tls_port
        watcher = Client("127.0.0.1", tls_port, "central", creds["central"], tls_ca=s.ca)
        assert not watcher.connect().is_failure
        watcher.subscribe("crowd/v1/#")
        edge = Client("localhost", tls_port, "edge-pets-view1", creds["edge-pets-view1"], tls_ca=s.ca)
        assert not edge.connect().is_failure
        edge.publish("crowd/v1/alerts/a1", "{}")
        edge.publish("crowd/v1/pets/view1/status", "{}")
        assert watcher.received_until("crowd/v1/pets/view1/status") == ["crowd/v1/pets/view1/status"]
        # A client that does not trust the test CA cannot talk to the broker.
        stranger = Client(
            "127.0.0.1",
            tls_port,
            "central",
            creds["central"],
            tls_ca=Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"),
        )
        with pytest.raises(ssl.SSLError):
            stranger.connect()
        edge.close()
        watcher.close()
