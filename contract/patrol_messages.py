"""Patrol positions on the wire: crowd's own location message and the OwnTracks app's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.wire import WireMessage

PATROL_LOCATION_SCHEMA = "crowd.patrol_location/1"


class PatrolLocationMessage(WireMessage):
    """A patrol's position. Topic `<prefix>/patrols/<id>/location` (OwnTracks `_type: location` JSON is accepted
    on that topic too, and on `owntracks/<user>/<device>`)."""

    # Sent by devices that may leave out what has a default.
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)
    schema_: Literal["crowd.patrol_location/1"] = Field(alias="schema", default="crowd.patrol_location/1")
    lat: float = Field(ge=-90, le=90, description="WGS-84 latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="WGS-84 longitude, degrees.")
    acc_m: float = Field(ge=0, le=1e7, description="Horizontal accuracy, m.")
    at: float = Field(ge=0, le=1e11, description="UNIX time of the fix.")
    name: str | None = Field(default=None, max_length=128, description="Display name.")


class OwnTracksLocation(BaseModel):
    """The OwnTracks app's `_type: location` message on `owntracks/<user>/<device>` (the keys central reads)."""

    # OwnTracks apps send many more keys (batt, vel, tid, ...): accept and ignore them.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)
    type_: str = Field(alias="_type")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    acc: float = Field(default=9999.0, ge=0, le=1e7)
    tst: float = Field(ge=0, le=1e11)
    tid: str | None = Field(default=None, max_length=64)
