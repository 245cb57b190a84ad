"""On-demand snapshots: the wire contract (command, reply, topic) and the edge's builder and rate limit."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from contract import examples as ex
from contract.edge_messages import CommandMessage, SnapshotMessage
from contract.topics import TopicRef, parse_topic, snapshot_topic
from contract.wire import MessageError, decode, encode, json_schema
from edge.calibration import build_geometry
from edge.config import EdgeConfig, SnapshotConfig, load
from edge.snapshot import Scene, SnapshotDesk, render_jpeg
from edge.synthetic import render_clip
from edge.types import Frame, Tracks

W, H = 1280, 720
BOX = (300.0, 200.0, 700.0, 600.0)  # one person, full-resolution pixels


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> EdgeConfig:
    return load(render_clip(tmp_path_factory.mktemp("clip"), duration_s=1.0, fps=5.0).config)


def _scene(cfg: EdgeConfig) -> Scene:
    noise = np.random.default_rng(0).integers(0, 255, size=(H, W, 3), dtype=np.uint8)
    tracks = Tracks(ids=np.array([7]), xyxy=np.array([BOX], np.float32), confirmed=np.array([True]))
    return Scene(Frame(3, 0.6, noise), 1_700_000_000.0, tracks, build_geometry(cfg, (W, H)), {})


def _detail(jpeg: bytes, scale: float) -> float:
    """Mean horizontal pixel step well inside the person's box: high for camera noise, low once pixelated."""
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE).astype(float)
    x1, y1, x2, y2 = (round(v * scale) for v in BOX)
    inner = img[y1 + 30 : y2 - 10, x1 + 10 : x2 - 10]
    return float(np.abs(np.diff(inner, axis=1)).mean())


def test_snapshot_topic_builds_and_parses_back() -> None:
    topic = snapshot_topic("crowd/v1", "north", "cam-1")
    assert topic == "crowd/v1/north/cam-1/snapshot"
    assert parse_topic("crowd/v1", topic) == TopicRef("north", "cam-1", "snapshot")


def test_snapshot_command_and_replies_validate_against_their_schemas() -> None:
    assert decode(CommandMessage, encode(ex.SNAPSHOT_COMMAND)).command == "snapshot"
    for reply in (ex.SNAPSHOT, ex.SNAPSHOT_REFUSED):
        assert decode(SnapshotMessage, encode(reply)) == reply
    schema = json_schema(SnapshotMessage)
    assert schema["properties"]["schema"]["const"] == "crowd.snapshot/1"
    assert set(schema["required"]) >= {"request_id", "status", "jpeg", "taken_at", "blurred"}
    with pytest.raises(MessageError, match="command"):
        decode(CommandMessage, b'{"schema": "crowd.command/1", "command": "stream"}')


def test_picture_is_capped_and_people_are_pixelated_by_default(cfg: EdgeConfig) -> None:
    scene = _scene(cfg)
    blurred, w, h = render_jpeg(scene, SnapshotConfig())
    assert (w, h) == (640, 360)  # long side capped at 640, aspect kept
    decoded = cv2.imdecode(np.frombuffer(blurred, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (360, 640, 3)
    sharp, _, _ = render_jpeg(scene, SnapshotConfig(blur_people=False))
    assert _detail(blurred, 0.5) < 0.5 * _detail(sharp, 0.5)


def test_desk_answers_once_per_interval_and_refuses_in_between(cfg: EdgeConfig) -> None:
    now = [100.0]
    desk = SnapshotDesk(SnapshotConfig(min_interval_s=10), site="north", camera="cam-1", monotonic=lambda: now[0])
    cmd = CommandMessage(command="snapshot", request_id="r1")
    assert desk.answer(cmd).status == "unavailable"
    desk.keep(_scene(cfg))
    first = desk.answer(cmd)
    assert (first.status, first.request_id, first.blurred, first.taken_at) == ("ok", "r1", True, 1_700_000_000.0)
    assert first.jpeg is not None and base64.b64decode(first.jpeg)[:2] == b"\xff\xd8"
    now[0] += 4.0
    second = desk.answer(CommandMessage(command="snapshot", request_id="r2"))
    assert (second.status, second.request_id, second.jpeg) == ("refused", "r2", None)
    assert second.retry_after_s == pytest.approx(6.0)
    now[0] += 6.0
    assert desk.answer(cmd).status == "ok"


def test_desk_refuses_everything_when_turned_off(cfg: EdgeConfig) -> None:
    desk = SnapshotDesk(SnapshotConfig(enabled=False), site="north", camera="cam-1")
    desk.keep(_scene(cfg))
    reply = desk.answer(CommandMessage(command="snapshot"))
    assert reply.status == "refused" and reply.reason is not None and "turned off" in reply.reason
