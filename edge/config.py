"""The edge node's configuration: YAML validated by pydantic models.

Unknown keys are rejected and every error names the offending key (`zones.0.polygon`), because an
operator editing a file next to a camera has no other way to find the typo. Files the config reads
(`camera.source`, model files, TLS files) are relative to the config file's folder; the queue it writes
(`mqtt.queue_path`) to the working directory.
Each section is owned by one stage; stages read only their own section. The sections' models are in
edge/config_sections.py; this module puts them together (EdgeConfig, with the checks across sections)
and reads, validates and rewrites config files. It re-exports every section model.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, model_validator

import configio
from edge.config_sections import (
    AUTO_DETECTIONS_PER_S,
    CalibrationConfig,
    CalibrationPoints,
    CameraConfig,
    DensityConfig,
    DetectorConfig,
    LineConfig,
    MetricsConfig,
    MqttConfig,
    Point,
    SnapshotConfig,
    TlsConfig,
    TrackingConfig,
    ZoneConfig,
)
from edge.config_sections import Model as _Model

# `from edge.config import DetectorConfig` and the like keep working: the sections are re-exported.
__all__ = [
    "AUTO_DETECTIONS_PER_S",
    "PATH_KEYS",
    "CalibrationConfig",
    "CalibrationPoints",
    "CameraConfig",
    "ConfigError",
    "DensityConfig",
    "DetectorConfig",
    "EdgeConfig",
    "LineConfig",
    "MetricsConfig",
    "MqttConfig",
    "Point",
    "SnapshotConfig",
    "TlsConfig",
    "TrackingConfig",
    "ZoneConfig",
    "format_validation_error",
    "load",
    "parse",
    "read_raw",
    "rebase_paths",
]


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


class EdgeConfig(_Model):
    site: str = Field(
        default="site",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Site id, first topic level after the prefix.",
    )
    camera: CameraConfig = Field(description="The camera: its id and video source.")
    calibration: CalibrationConfig = Field(description="How image pixels map to ground metres.")
    zones: list[ZoneConfig] = Field(min_length=1, description="Zones to measure.")
    lines: list[LineConfig] = Field(default_factory=list, description="Counting lines on the ground.")
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="The person detector.")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig, description="Tracks from detections.")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="Per-zone metrics per interval.")
    density: DensityConfig = Field(default_factory=DensityConfig, description="The density-map counter.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="The broker and the on-disk queue.")
    snapshot: SnapshotConfig = Field(default_factory=SnapshotConfig, description="On-demand pictures.")

    @model_validator(mode="after")
    def _unique_ids(self) -> EdgeConfig:
        for kind, ids in (("zones", [z.id for z in self.zones]), ("lines", [ln.id for ln in self.lines])):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{kind}: duplicate id(s) {dupes}")
        zone_ids = {z.id for z in self.zones}
        for line in self.lines:
            if line.zone is not None and line.zone not in zone_ids:
                raise ValueError(f"lines: line {line.id!r} names unknown zone {line.zone!r}")
        return self


# Files a config reads, as key paths: relative ones are relative to the config file's folder.
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("camera", "source"),
    ("detector", "model"),
    ("density", "model"),
    ("mqtt", "tls", "ca_certs"),
    ("mqtt", "tls", "certfile"),
    ("mqtt", "tls", "keyfile"),
)


def format_validation_error(path: str | Path, err: ValidationError) -> str:
    return configio.format_validation_error(path, err)


def parse(data: object, origin: str | Path = "<config>", base_dir: str | Path | None = None) -> EdgeConfig:
    """Validate parsed YAML; relative file paths are resolved from `base_dir` (None: left as they are)."""
    return configio.validate(EdgeConfig, data, origin, error=ConfigError, base_dir=base_dir)


def load(path: str | Path) -> EdgeConfig:
    """Read and validate a YAML config; relative file paths in it are resolved from its folder."""
    return configio.load(EdgeConfig, path, error=ConfigError)


def read_raw(path: str | Path) -> dict[str, object]:
    """The config file as a plain mapping (to rewrite and save it), with the same errors as `load`."""
    data = configio.read_yaml(path, what="config", error=ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys, got {type(data).__name__}")
    return data


def rebase_paths(raw: dict[str, object], old_dir: str | Path, new_dir: str | Path) -> dict[str, object]:
    """A raw config's relative file paths rewritten for a copy saved in `new_dir` instead of `old_dir`."""
    out: dict[str, object] = dict(raw)
    for keys in PATH_KEYS:
        node = out
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                break
            node[k] = node = dict(child)
        else:
            value = node.get(keys[-1])
            if isinstance(value, str):
                node[keys[-1]] = configio.rebase_path(value, Path(old_dir), Path(new_dir))
    return out
