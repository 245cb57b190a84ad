"""The edge config's sections, one pydantic model each (edge/config.py puts them together as EdgeConfig).

Each section is owned by one stage, and stages read only their own section: camera (sources), calibration
and zones/lines (geometry), detector, tracking, metrics, density, mqtt (the publisher), snapshot. Every
model forbids unknown keys, NaN and infinity, and every field has a description. File paths in a section
(`camera.source`, model files, TLS files) are resolved from the config file's folder when validated with
one (configio). Import them from `edge.config`, which re-exports each one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

import configio

__all__ = [
    "AUTO_DETECTIONS_PER_S",
    "CalibrationConfig",
    "CalibrationPoints",
    "CameraConfig",
    "DensityConfig",
    "DetectorConfig",
    "LineConfig",
    "MetricsConfig",
    "Model",
    "MqttConfig",
    "Point",
    "SnapshotConfig",
    "TlsConfig",
    "TrackingConfig",
    "ZoneConfig",
]

Point = Annotated[list[float], Field(min_length=2, max_length=2)]
# `every_n_frames: 0`: enough detections a second for optical flow to carry boxes between them.
AUTO_DETECTIONS_PER_S = 6.0


def _resolved(value: str | None, info: ValidationInfo) -> str | None:
    return None if value is None else configio.resolve_path(value, configio.base_dir(info.context))


def _simple(ring: list[list[float]] | None) -> list[list[float]] | None:
    if ring is not None and (edges := configio.crossing_edges(ring)) is not None:
        raise ValueError(configio.crossing_message(edges, len(ring)))
    return ring


class Model(BaseModel):
    # No NaN or infinity anywhere: a NaN polygon corner or threshold would silently poison every measurement.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CameraConfig(Model):
    id: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Camera id, unique in the site; used in topics and file names.",
    )
    source: str = Field(
        description="Video file, folder of images, rtsp:// or http:// URL, or a webcam index such as '0'."
    )
    fps: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="Frame rate to trust instead of the container's (some files lie).",
    )

    @field_validator("source")
    @classmethod
    def _relative_to_config(cls, v: str, info: ValidationInfo) -> str:
        return _resolved(v, info) or v


class CalibrationPoints(Model):
    image: list[Point] = Field(description="Image points in pixels, [x, y].")
    ground: list[Point] = Field(description="The same points on the ground in metres, [x, y].")

    @model_validator(mode="after")
    def _same_length(self) -> CalibrationPoints:
        if len(self.image) != len(self.ground):
            raise ValueError(f"image has {len(self.image)} points but ground has {len(self.ground)}")
        if len(self.image) < 4:
            raise ValueError(f"a homography needs at least 4 point pairs, got {len(self.image)}")
        return self


class CalibrationConfig(Model):
    homography: list[Annotated[list[float], Field(min_length=3, max_length=3)]] | None = Field(
        default=None,
        min_length=3,
        max_length=3,
        description="3x3 matrix mapping image pixels to ground metres.",
    )
    points: CalibrationPoints | None = Field(
        default=None, description="Image/ground point pairs to fit the homography from."
    )
    image_size: tuple[int, int] | None = Field(
        default=None,
        description="[width, height] the calibration was made at; frames of another size are scaled to it.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> CalibrationConfig:
        if (self.homography is None) == (self.points is None):
            raise ValueError("give exactly one of 'homography' or 'points'")
        return self


class ZoneConfig(Model):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Zone id, unique for the camera.")
    polygon: list[Point] | None = Field(default=None, min_length=3, description="Ground polygon in metres.")
    image_polygon: list[Point] | None = Field(default=None, min_length=3, description="Image polygon in pixels.")

    @model_validator(mode="after")
    def _one_of(self) -> ZoneConfig:
        if (self.polygon is None) == (self.image_polygon is None):
            raise ValueError("give exactly one of 'polygon' (ground metres) or 'image_polygon' (pixels)")
        return self

    @field_validator("polygon", "image_polygon")
    @classmethod
    def _not_crossing(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        return _simple(v)


class LineConfig(Model):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Line id.")
    points: list[Point] = Field(
        min_length=2,
        max_length=2,
        description="Two ground points in metres; 'in' is crossing to the left of first->second.",
    )
    zone: str | None = Field(default=None, description="Zone whose inflow/outflow this line feeds.")


class DetectorConfig(Model):
    kind: Literal["auto", "nanodet", "offline", "onnx", "ultralytics"] = Field(
        default="auto",
        description="Detector backend. 'auto': the pretrained 'nanodet' when its model file is there "
        "(scripts/build_models.py builds it), else 'offline' (no weights; says so in the log).",
    )
    model: str | None = Field(
        default=None,
        description="Model file for 'nanodet' (default models/nanodet-m.onnx), 'onnx' (.onnx) or 'ultralytics' (.pt).",
    )
    every_n_frames: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Run detection every N frames; optical flow carries boxes between. 0: about "
        f"{AUTO_DETECTIONS_PER_S:g} detections a second at the source's frame rate (every 4th frame at 25 fps, "
        "every frame at 7 fps or less).",
    )
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="Minimum person score; unset: the backend's own (0.35, 'nanodet' 0.4)."
    )
    count_confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="'nanodet': minimum score of a box counted per frame where a zone counts boxes (metrics."
        "count_from); people partly hidden in a crowd score lower. Tracks still need 'confidence'. Unset: 0.3.",
    )
    iou_threshold: float = Field(default=0.5, gt=0, le=1, description="Non-maximum suppression IoU.")
    input_size: int = Field(
        default=640,
        ge=32,
        le=4096,
        description="Network input side for 'onnx'/'ultralytics'; for 'nanodet' the long side of its one window "
        "when the calibration cannot say how tall people are.",
    )
    min_person_px: float = Field(
        default=64.0,
        ge=16,
        le=512,
        description="'nanodet': each band of the frame is scaled so that its smallest expected person is this "
        "tall in the network's input (from the calibration and person_height_m).",
    )
    threads: int = Field(
        default=0,
        ge=0,
        le=64,
        description="onnxruntime intra-op threads; 0 chooses: 1 when detecting every few frames ahead of a file, else all cores.",
    )
    person_height_m: float = Field(
        default=1.7, gt=0.5, lt=2.5, description="Typical person height, bounds box sizes where calibrated."
    )
    hog: bool = Field(
        default=True,
        description="'offline': also look for people expected at least 100 px tall with OpenCV's HOG detector.",
    )

    @field_validator("model")
    @classmethod
    def _relative_to_config(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _resolved(v, info)


class TrackingConfig(Model):
    min_hits: int = Field(default=3, ge=1, description="Detections before a track is confirmed and counted.")
    max_age_s: float = Field(default=1.5, gt=0, description="Seconds a track survives without a matching detection.")
    iou_gate: float = Field(default=0.1, ge=0, le=1, description="Minimum IoU for a detection to match a track.")


class MetricsConfig(Model):
    interval_s: float = Field(default=1.0, gt=0, le=3600, description="Length of one metrics interval in seconds.")
    speed_window_s: float = Field(
        default=2.0, gt=0, le=60, description="Window over which a track's ground speed is measured."
    )
    max_speed_mps: float = Field(
        default=4.0, gt=0, description="Speeds above this are implausible for walking and rejected."
    )
    los_bands: dict[str, float] | None = Field(
        default=None,
        description="Level-of-service band name -> lower density bound (persons/m2). Default: Fruin walkway bands A-F.",
    )
    dense_flow_min_count: int = Field(
        default=15, ge=1, description="From this many people in a zone, speed comes from dense optical flow."
    )
    stale_after_s: float = Field(
        default=5.0, gt=0, description="Live sources: metrics are stale when no frame came for this long."
    )
    count_from: Literal["auto", "tracks", "detections"] = Field(
        default="auto",
        description="What a zone's count measures: confirmed 'tracks', the detector's boxes ('detections', on the "
        "frames it ran on), or 'auto': boxes where frames come more than max_track_gap_s apart or at least "
        "crowd_min_count people are detected in the zone, tracks elsewhere. Reported as count_source.",
    )
    crowd_min_count: int = Field(
        default=15, ge=1, description="'auto' counting: from this many detected people a zone counts boxes."
    )
    max_track_gap_s: float = Field(
        default=0.4,
        gt=0,
        le=60,
        description="'auto' counting: frames further apart than this (s) are counted from boxes, not tracks.",
    )


class DensityConfig(Model):
    """The density-map counter (CSRNet): counts people too packed for boxes, every few seconds, on the zones' crop."""

    mode: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="'auto': run when its model file is there (scripts/build_models.py builds it), else say so once "
        "and count from boxes and tracks only; 'on': the model is required (a missing file is an error); 'off'.",
    )
    model: str | None = Field(
        default=None,
        description="CSRNet ONNX file; default models/csrnet-int8.onnx where built, else models/csrnet.onnx.",
    )
    interval_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds between density-map runs. Between runs the last run's correction follows the "
        "detector's count.",
    )
    person_height_px: float = Field(
        default=100.0,
        ge=32,
        le=400,
        description="The crop is shrunk (never enlarged) so that a person at the zones' typical foot row is about this "
        "tall in the network's input: the network counts best near the head sizes it was trained on.",
    )
    min_person_px: float = Field(
        default=60.0,
        ge=8,
        le=400,
        description="Below this typical person height (px, in the network's input) the density map is not used: "
        "the network misses small people and enlarging the picture makes it see crowds in texture.",
    )
    max_input_px: int = Field(
        default=320_000,
        ge=16_384,
        le=8_000_000,
        description="Upper bound on the network's input pixels per run (width x height); bounds its CPU cost.",
    )
    min_people: int = Field(
        default=8,
        ge=0,
        description="Run every interval_s only while the detector sees at least this many people in some zone "
        "(a sparse scene is counted best by boxes); below it, every sparse_interval_s.",
    )
    sparse_interval_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds between runs while no zone holds min_people boxes: a crowd packed so tightly that the "
        "detector finds few boxes must still be seen.",
    )
    overlap_low: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Share of a zone's boxes hidden by another box at which the density map starts to count.",
    )
    overlap_high: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Share of hidden boxes from which the density map alone counts.",
    )
    max_age_s: float = Field(
        default=15.0,
        gt=0,
        description="A density run older than this no longer corrects the count.",
    )
    threads: int = Field(default=0, ge=0, le=64, description="onnxruntime intra-op threads; 0: the runtime's choice.")

    @field_validator("model")
    @classmethod
    def _relative_to_config(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _resolved(v, info)

    @model_validator(mode="after")
    def _bands(self) -> DensityConfig:
        if self.overlap_high <= self.overlap_low:
            raise ValueError("density: overlap_high must be above overlap_low")
        return self


class TlsConfig(Model):
    ca_certs: str | None = Field(default=None, description="CA bundle to verify the broker.")
    certfile: str | None = Field(default=None, description="Client certificate.")
    keyfile: str | None = Field(default=None, description="Client key.")
    insecure: bool = Field(default=False, description="Skip hostname verification (testing only).")

    @field_validator("ca_certs", "certfile", "keyfile")
    @classmethod
    def _relative_to_config(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _resolved(v, info)


class MqttConfig(Model):
    host: str = Field(default="localhost", description="Broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    topic_prefix: str = Field(default="crowd/v1", min_length=1, description="Prefix of every topic.")
    username: str | None = Field(default=None, description="Username; or set CROWD_MQTT_USERNAME.")
    password: str | None = Field(
        default=None, repr=False, description="Password; or set CROWD_MQTT_PASSWORD. Never logged."
    )
    tls: TlsConfig | None = Field(default=None, description="TLS settings; absent means plain TCP.")
    queue_path: str = Field(default="edge-queue.sqlite", description="On-disk store-and-forward queue (SQLite).")
    queue_max_messages: int = Field(
        default=100_000, ge=10, description="Queue bound; the oldest are dropped beyond it."
    )
    stats_interval_s: float = Field(default=10.0, gt=0, description="Seconds between stats messages.")
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive.")


class SnapshotConfig(Model):
    """On-demand pictures for the console (edge/snapshot.py): the one way pixels leave the edge."""

    enabled: bool = Field(default=True, description="False: every snapshot request is refused.")
    min_interval_s: float = Field(
        default=10.0, ge=0, le=3600, description="At most one picture per this many seconds; more are refused."
    )
    max_side_px: int = Field(default=640, ge=64, le=4096, description="Long side of the picture, px (downscaled).")
    jpeg_quality: int = Field(default=70, ge=10, le=95, description="JPEG quality, 10-95.")
    blur_people: bool = Field(
        default=True, description="Pixelate every person; set false only where the site's privacy rules allow it."
    )
