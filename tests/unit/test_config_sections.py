"""edge/config.py split in two: the section models (edge/config_sections.py) and the whole config with its files.

Every old import must keep working, and every model keeps the house rules: unknown keys are refused and
every field says what it is for (the descriptions are the config's reference).
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

import edge.config
import edge.config_sections
from edge.config import EdgeConfig, parse


def _models(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[type[BaseModel]]:
    """`model` and every model its fields hold, directly or inside lists and optionals."""
    seen = set() if seen is None else seen
    seen.add(model)
    for field in model.model_fields.values():
        stack: list[object] = [field.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                if t not in seen:
                    _models(t, seen)
            else:
                stack.extend(getattr(t, "__args__", ()))
    return seen


def test_every_name_edge_config_exported_is_still_there_and_the_sections_are_the_same_objects() -> None:
    for name in edge.config.__all__:
        assert hasattr(edge.config, name), name
    for name in edge.config_sections.__all__:
        if name != "Model":
            assert getattr(edge.config, name) is getattr(edge.config_sections, name), name
            assert name in edge.config.__all__, name


def test_every_model_forbids_unknown_keys_and_describes_every_field() -> None:
    models = _models(EdgeConfig)
    assert {m.__name__ for m in models} >= {"CameraConfig", "DensityConfig", "SnapshotConfig", "TlsConfig"}
    for model in models:
        assert model.model_config.get("extra") == "forbid", model.__name__
        undescribed = [n for n, f in model.model_fields.items() if not f.description]
        assert not undescribed, f"{model.__name__}: fields without a description: {undescribed}"


@pytest.mark.parametrize("section", ["density", "snapshot", "mqtt"])
def test_a_section_still_refuses_an_unknown_key_by_its_path(section: str) -> None:
    data = {
        "camera": {"id": "c1", "source": "clip.mp4"},
        "calibration": {"homography": [[0.1, 0, 0], [0, 0.1, 0], [0, 0, 1]]},
        "zones": [{"id": "z", "polygon": [[0, 0], [1, 0], [1, 1]]}],
        section: {"no_such_key": 1},
    }
    with pytest.raises(edge.config.ConfigError, match=rf"{section}\.no_such_key"):
        parse(data)
