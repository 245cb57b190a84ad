"""Process, config: central's site configuration: YAML validated by pydantic models.

Unknown keys are rejected and every error names the offending key (`zones.0.polygon`). The site, zone and
camera models live in central/site_config.py and are re-exported here (`__all__`), so
`from central.config import ZoneConfig` keeps working.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

import configio
from central.site_config import (
    DEFAULT_CRITICAL_PPM2,
    DEFAULT_WARNING_PPM2,
    DISPLAY_NAME_MAX,
    SWAP_KM,
    CameraConfig,
    LonLat,
    SiteConfig,
    Thresholds,
    ZoneConfig,
    swapped_zone_error,
)
from central.site_config import ID_PATTERN as _ID_PATTERN
from central.site_config import Model as _Model

__all__ = [
    "DEFAULT_CRITICAL_PPM2",
    "DEFAULT_WARNING_PPM2",
    "SWAP_KM",
    "AlertsConfig",
    "BacklogConfig",
    "CameraConfig",
    "CentralConfig",
    "ClockConfig",
    "ConfigError",
    "DatabaseConfig",
    "ForecastConfig",
    "HttpConfig",
    "LoginThrottleConfig",
    "LonLat",
    "MqttConfig",
    "PatrolsConfig",
    "RetentionConfig",
    "SiteConfig",
    "SnapshotsConfig",
    "Thresholds",
    "UserConfig",
    "WorkerConfig",
    "ZoneConfig",
    "check_site",
    "format_validation_error",
    "load",
    "parse",
    "user_password_source",
]


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


class MqttConfig(_Model):
    host: str = Field(default="localhost", description="Broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    topic_prefix: str = Field(default="crowd/v1", min_length=1, description="Prefix of every crowd topic.")
    share_group: str = Field(default="central", pattern=_ID_PATTERN, description="Shared-subscription group.")
    client_id: str | None = Field(default=None, description="Stable client id; default derived from worker index.")
    username: str | None = Field(default=None, description="Username; or set CROWD_MQTT_USERNAME.")
    password: str | None = Field(default=None, description="Password; or set CROWD_MQTT_PASSWORD. Never logged.")
    session_expiry_s: int = Field(default=3600, ge=0, description="Broker keeps the session this long offline.")
    max_payload_bytes: int = Field(default=65536, ge=256, description="Larger payloads go to the dead letters.")


class DatabaseConfig(_Model):
    url: str = Field(default="sqlite:///central.sqlite", description="SQLAlchemy URL (sqlite or postgresql).")
    batch_ms: float = Field(default=50.0, gt=0, le=5000, description="Metric writes are batched this long.")


class LoginThrottleConfig(_Model):
    """Back-off per (client address, account); see central/login_throttle.py for why not per account."""

    free_failures: int = Field(
        default=5, ge=1, description="Wrong passwords from one client for one account before a wait."
    )
    backoff_base_s: float = Field(default=1.0, gt=0, description="First wait; doubles with each further failure.")
    backoff_max_s: float = Field(default=300.0, gt=0, description="Longest wait.")
    forget_after_s: float = Field(
        default=900.0, gt=0, description="Failures are forgotten after this long without one."
    )
    account_alarm_failures: int = Field(
        default=50, ge=1, description="Failures for one account from all clients in 10 min that log an alarm."
    )


class HttpConfig(_Model):
    host: str = Field(default="127.0.0.1", description="Listen address.")
    port: int = Field(default=8080, ge=0, le=65535, description="Listen port (0: do not serve HTTP).")
    token_ttl_s: float = Field(default=8 * 3600, gt=0, description="Login token lifetime.")
    secret_env: str | None = Field(
        default=None, description="Env var holding the token-signing secret (share it between workers)."
    )
    login_throttle: LoginThrottleConfig = Field(default_factory=lambda: LoginThrottleConfig())
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For names the client; "
        "empty (default): the TCP peer is the client and the header is ignored.",
    )
    cookie_secure: bool = Field(default=False, description="Mark cookies Secure (behind HTTPS).")
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without a login (for a scraper on a private network)."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as err:
                raise ValueError(f"{item!r} is not an IP address or network") from err
        return v


class UserConfig(_Model):
    username: str = Field(min_length=1, max_length=64, pattern=_ID_PATTERN)
    role: Literal["viewer", "operator", "admin"]
    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=DISPLAY_NAME_MAX,
        description="Name the console shows for the signed-in user (e.g. 'Control room, desk 2'); "
        "defaults to the username.",
    )
    password_hash: str | None = Field(default=None, description="argon2 hash from `crowd-central hash-password`.")
    password_env: str | None = Field(default=None, description="Env var holding the plain password.")

    @model_validator(mode="after")
    def _one_of(self) -> UserConfig:
        if (self.password_hash is None) == (self.password_env is None):
            raise ValueError("give exactly one of 'password_hash' or 'password_env'")
        return self


class AlertsConfig(_Model):
    pending_s: float = Field(default=30.0, ge=0, description="A level must hold this long before it alerts.")
    keep_firing_s: float = Field(default=60.0, ge=0, description="Below the clear level this long before clearing.")
    clear_ratio: float = Field(
        default=0.85, gt=0, le=1, description="Clear level = threshold x this (hysteresis band under the threshold)."
    )
    forecast_probability: float = Field(default=0.6, gt=0, le=1, description="Forecast alert when P(cross) >= this.")
    forecast_pending_s: float = Field(
        default=30.0, ge=0, description="A predicted crossing must persist this long (data time) before it alerts."
    )
    forecast_keep_firing_s: float = Field(
        default=60.0, ge=0, description="A forecast alert clears only after no crossing was predicted this long."
    )
    forecast_min_history_s: float = Field(
        default=300.0,
        ge=0,
        description="No forecast alert before a zone has this much data (a cold start's few points are noisy).",
    )
    stop_go_speed_ratio: float = Field(
        default=0.4, gt=0, lt=1, description="Stop-and-go when speed < this x the speed the density predicts."
    )
    stop_go_min_density: float = Field(default=1.0, ge=0, description="Stop-and-go needs at least this density.")
    camera_stale_s: float = Field(default=30.0, gt=0, description="A camera silent this long is stale.")


class BacklogConfig(_Model):
    """Two lanes for metrics: live rows are written and evaluated first, a backlog (an edge draining its
    queue, messages kept by the broker while central was away) in bulk behind them."""

    lag_s: float = Field(
        default=30.0,
        ge=0,
        description="A metric measured more than this long before central received it (central's clock) is backlog.",
    )
    write_chunk: int = Field(
        default=2000, ge=1, le=50000, description="Backlog rows written per batch, after the waiting live rows."
    )
    slice_ms: float = Field(
        default=100.0, gt=0, le=10000, description="Evaluator time per step spent on the backlog, after live rows."
    )


class ForecastConfig(_Model):
    step_s: float = Field(default=10.0, gt=0, le=3600, description="Forecast bin.")
    horizon_s: float = Field(default=600.0, gt=0, le=86400, description="How far ahead zones are forecast.")
    season_s: float | None = Field(
        default=7 * 86400.0,
        ge=0,
        le=28 * 86400,
        description="Period of the time-of-day/week profile model on site.timezone (0 or null: no profile).",
    )
    slice_ms: float = Field(
        default=50.0,
        gt=0,
        le=10000,
        description="Evaluator time per step spent forecasting live data, after every new row's rules.",
    )
    overload_after_s: float = Field(
        default=5.0,
        ge=0,
        description="A zone whose forecast work waited this long (wall clock) skips bins until it catches up.",
    )


class PatrolsConfig(_Model):
    stale_after_s: float = Field(default=60.0, gt=0, description="A position older than this is stale.")
    max_accuracy_m: float = Field(default=25.0, gt=0, description="A position less accurate than this is stale.")
    walking_speed_mps: float = Field(default=1.4, gt=0, le=10, description="Speed for ETAs.")
    track_minutes: float = Field(default=10.0, gt=0, description="Track history returned by the API.")


class RetentionConfig(_Model):
    metrics_days: float = Field(default=30.0, gt=0)
    alerts_days: float = Field(default=365.0, gt=0)
    patrol_track_days: float = Field(default=7.0, gt=0)
    every_s: float = Field(default=3600.0, gt=0, description="How often the periodic delete runs.")


class ClockConfig(_Model):
    speed: float = Field(
        default=1.0, gt=0, le=1000, description="Central's time runs this many times faster than the wall clock."
    )
    start_s: float | None = Field(
        default=None,
        ge=0,
        description="UNIX time at which scaled and wall time agree (share it with the replay); default: start-up.",
    )


class WorkerConfig(_Model):
    index: int = Field(default=0, ge=0, description="This worker's index; zones are owned by hash % count.")
    count: int = Field(default=1, ge=1, le=1024, description="Number of central workers sharing the load.")

    @model_validator(mode="after")
    def _in_range(self) -> WorkerConfig:
        if self.index >= self.count:
            raise ValueError(f"index {self.index} must be below count {self.count}")
        return self


class SnapshotsConfig(_Model):
    """Operators' on-demand camera pictures (central/snapshot_api.py); the edge adds its own limits."""

    enabled: bool = Field(default=True, description="False: the site refuses every snapshot request (403).")
    timeout_s: float = Field(default=5.0, gt=0, le=30, description="How long to wait for the edge's reply.")


class CentralConfig(_Model):
    site: SiteConfig = Field(default_factory=SiteConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    users: list[UserConfig] = Field(default_factory=list)
    zones: list[ZoneConfig] = Field(default_factory=list)
    cameras: list[CameraConfig] = Field(
        default_factory=list, description="Optional camera display names and positions for the console."
    )
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    backlog: BacklogConfig = Field(default_factory=BacklogConfig)
    patrols: PatrolsConfig = Field(default_factory=PatrolsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    snapshots: SnapshotsConfig = Field(default_factory=SnapshotsConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    clock: ClockConfig = Field(default_factory=ClockConfig, description="Accelerated time for replays and demos.")

    @model_validator(mode="after")
    def _unique(self) -> CentralConfig:
        seen: set[str] = set()
        edge_keys: set[tuple[str, str]] = set()
        for z in self.zones:
            if z.id in seen:
                raise ValueError(f"zone id {z.id!r} appears twice")
            seen.add(z.id)
            key = (z.camera, z.edge_zone)
            if key in edge_keys:
                raise ValueError(f"camera {z.camera!r} zone {z.edge_zone!r} is mapped to two zones")
            edge_keys.add(key)
        cams = [(c.site or self.site.id, c.id) for c in self.cameras]
        if len(cams) != len(set(cams)):
            raise ValueError("a camera appears twice in 'cameras'")
        names = [u.username for u in self.users]
        if len(names) != len(set(names)):
            raise ValueError("a username appears twice")
        if (swapped := swapped_zone_error(self.site, self.cameras, self.zones)) is not None:
            raise ValueError(swapped)
        return self

    def zone_thresholds(self, zone: ZoneConfig) -> Thresholds:
        return zone.thresholds or self.site.thresholds


def format_validation_error(origin: str | Path, err: ValidationError) -> str:
    return configio.format_validation_error(origin, err)


def parse(data: object, origin: str | Path = "<config>", base_dir: str | Path | None = None) -> CentralConfig:
    """Validate parsed YAML; a relative `site.basemap` is resolved from `base_dir` (None: left as it is)."""
    return configio.validate(CentralConfig, data, origin, error=ConfigError, base_dir=base_dir)


def check_site(cfg: CentralConfig, origin: str | Path) -> CentralConfig:
    """What a site file must also have to run: zones, and the base map it names."""
    if not cfg.zones:
        raise ConfigError(configio.key_error(origin, "zones", "a site needs at least one zone"))
    if cfg.site.basemap is not None and not Path(cfg.site.basemap).is_file():
        raise ConfigError(configio.key_error(origin, "site.basemap", f"no such file: {cfg.site.basemap}"))
    return cfg


def load(path: str | Path) -> CentralConfig:
    """Read, validate and check a site file (`check_site`); relative paths in it are resolved from its folder."""
    return check_site(configio.load(CentralConfig, path, error=ConfigError), path)


def user_password_source(user: UserConfig) -> tuple[str, str]:
    """('hash', value) or ('plain', value) for a user; a missing env var is a clear error."""
    if user.password_hash is not None:
        return ("hash", user.password_hash)
    assert user.password_env is not None
    value = os.environ.get(user.password_env)
    if not value:
        raise ConfigError(f"users.{user.username}: environment variable {user.password_env} is not set")
    return ("plain", value)
