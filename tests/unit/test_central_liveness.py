"""Camera liveness: a camera that goes silent is announced stale once, on central's clock (issue 16)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from central.liveness import CameraLiveness


class _Bus:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def publish(self, name: str, data: dict[str, Any]) -> None:
        assert name == "camera"
        self.sent.append(data)


class _Store:
    def upsert_camera(self, row: Any, now: float) -> None:
        pass


def _liveness(bus: _Bus) -> CameraLiveness:
    cfg = SimpleNamespace(alerts=SimpleNamespace(camera_stale_s=30.0), cameras=[], site=SimpleNamespace(id="s1"))
    registry = SimpleNamespace(site="s1", cameras=lambda: ["cam1"])
    return CameraLiveness(cast(Any, cfg), cast(Any, registry), cast(Any, _Store()), cast(Any, bus))


def test_a_silent_camera_is_announced_stale_once_and_online_again_on_its_next_metric() -> None:
    bus = _Bus()
    live = _liveness(bus)
    live.on_metric("s1", "cam1", 1000.0)
    assert [(c["state"], c["stale_after_s"]) for c in bus.sent] == [("online", 30.0)]
    live.announce_changes(1029.0)
    assert len(bus.sent) == 1  # within the limit: nothing new to say
    live.announce_changes(1031.0)
    live.announce_changes(1040.0)
    assert [c["state"] for c in bus.sent] == ["online", "stale"]
    assert bus.sent[-1]["last_seen"] == 1000.0
    live.on_metric("s1", "cam1", 1050.0)
    live.announce_changes(1051.0)
    assert [c["state"] for c in bus.sent] == ["online", "stale", "online"]
