"""Fuzzing the config loaders (edge, central, scenarios): any file is either valid or the loader's own error
naming the problem.

Operators edit these files by hand next to a camera or on the central server; a typo must give a message,
never a traceback. The three share one loader (configio) and get the same hostile files here.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.config import ConfigError as CentralConfigError
from central.config import load as load_central
from central.playback.scenario import ScenarioError
from central.playback.scenario import load as load_scenario
from edge.config import ConfigError, EdgeConfig, load, parse

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(
    max_examples=150,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

VALID: dict[str, Any] = {
    "site": "pets",
    "camera": {"id": "view1", "source": "video.avi", "fps": 7},
    "calibration": {
        "points": {
            "image": [[0, 0], [480, 0], [480, 360], [0, 360]],
            "ground": [[0, 0], [20, 0], [20, 15], [0, 15]],
        },
        "image_size": [480, 360],
    },
    "zones": [{"id": "crossing", "polygon": [[0, 0], [10, 0], [10, 10], [0, 10]]}],
    "lines": [{"id": "gate", "points": [[0, 5], [10, 5]], "zone": "crossing"}],
    "detector": {"kind": "offline", "confidence": 0.4, "every_n_frames": 2},
    "tracking": {"min_hits": 3},
    "metrics": {"interval_s": 1.0, "los_bands": {"A": 0.0, "B": 0.3}},
    "mqtt": {"host": "broker", "port": 1883, "username": "edge-pets-view1"},
}

yaml_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", "offline", "onnx", "rtsp://cam/1", "0", "a/b", "../../etc/passwd"])
)
yaml_values = st.recursive(
    yaml_leaves,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)


def leaf_paths(doc: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into the document, containers included."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += leaf_paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += leaf_paths(v, (*prefix, i))
    return out


def set_path(doc: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


def check_accepted(cfg: EdgeConfig) -> None:
    zone_ids = [z.id for z in cfg.zones]
    assert len(zone_ids) == len(set(zone_ids)) and zone_ids
    assert all(line.zone is None or line.zone in zone_ids for line in cfg.lines)
    assert cfg.detector.confidence is None or 0 <= cfg.detector.confidence <= 1
    # A NaN or infinite coordinate, threshold or interval would poison every measurement after it.
    for path, value in _numbers(cfg.model_dump()):
        assert math.isfinite(value), f"{path} accepted {value}"


def _numbers(doc: Any, path: str = "") -> list[tuple[str, float]]:
    if isinstance(doc, dict):
        return [n for k, v in doc.items() for n in _numbers(v, f"{path}.{k}")]
    if isinstance(doc, list | tuple):
        return [n for i, v in enumerate(doc) for n in _numbers(v, f"{path}.{i}")]
    return [(path, float(doc))] if isinstance(doc, float) else []


def test_the_valid_example_is_accepted() -> None:
    check_accepted(parse(copy.deepcopy(VALID)))


@FUZZ
@given(data=yaml_values)
def test_arbitrary_data_is_rejected_cleanly(data: Any) -> None:
    try:
        cfg = parse(data, "fuzz.yaml")
    except ConfigError as err:
        assert str(err).startswith("fuzz.yaml:")
    else:
        check_accepted(cfg)


@FUZZ
@given(data=st.data())
def test_one_value_changed_to_anything(data: st.DataObject) -> None:
    doc = copy.deepcopy(VALID)
    path = data.draw(st.sampled_from(leaf_paths(doc)))
    set_path(doc, path, data.draw(yaml_values))
    try:
        cfg = parse(doc, "fuzz.yaml")
    except ConfigError as err:
        assert str(err).startswith("fuzz.yaml: invalid config")
    else:
        check_accepted(cfg)


def _number_paths(doc: Any) -> list[tuple[str | int, ...]]:
    out = []
    for path in leaf_paths(doc):
        node = doc
        for part in path:
            node = node[part]
        if isinstance(node, int | float) and not isinstance(node, bool):
            out.append(path)
    return out


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("path", _number_paths(VALID), ids=lambda p: ".".join(map(str, p)))
def test_non_finite_numbers_are_rejected_everywhere(path: tuple[str | int, ...], bad: float) -> None:
    doc = copy.deepcopy(VALID)
    set_path(doc, path, bad)
    with pytest.raises(ConfigError):
        parse(doc)


NUMERIC_KEYS = [
    ("camera", "fps"),
    ("detector", "confidence"),
    ("detector", "every_n_frames"),
    ("tracking", "min_hits"),
    ("metrics", "interval_s"),
    ("mqtt", "port"),
]


@FUZZ
@given(key=st.sampled_from(NUMERIC_KEYS), word=st.text(alphabet="abcxyz", min_size=1, max_size=8))
def test_a_wrong_type_is_reported_under_its_key(key: tuple[str, str], word: str) -> None:
    doc = copy.deepcopy(VALID)
    set_path(doc, key, word)
    with pytest.raises(ConfigError, match=rf"(?m)^  {'.'.join(key)}: "):
        parse(doc, "fuzz.yaml")


@FUZZ
@given(text=st.text(max_size=300) | yaml_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)))
def test_arbitrary_file_is_rejected_cleanly(tmp_path: Path, text: str) -> None:
    p = tmp_path / "edge.yaml"
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        cfg = load(p)
    except ConfigError as err:
        assert str(err).startswith(str(p))
    else:
        check_accepted(cfg)


VALID_CENTRAL: dict[str, Any] = {
    "site": {"id": "pets", "center": [-0.9464, 51.4414]},
    "zones": [
        {
            "id": "pets-crossing",
            "camera": "view1",
            "edge_zone": "crossing",
            "polygon": [[-0.9465, 51.4414], [-0.9463, 51.4414], [-0.9463, 51.44152]],
            "thresholds": {"warning": 1.0, "critical": 2.0},
        }
    ],
    "alerts": {"pending_s": 20},
}
VALID_SCENARIO: dict[str, Any] = {
    "name": "calm",
    "kind": "calm",
    "site": {"id": "demo", "origin": [8.54, 47.37]},
    "duration_s": 600,
    "interval_s": 10,
    "zones": [
        {
            "id": "gym",
            "camera": "cam3",
            "edge_zone": "weights",
            "polygon_m": [[0, 200], [10, 200], [10, 210], [0, 210]],
            "thresholds": {"warning": 1.0, "critical": 1.5},
            "timeline": {"kind": "levels", "points": [{"t_s": 0, "density": 0.2}]},
        }
    ],
    "expected_alerts": [],
}
# name, loader, its error, a valid document: every file-level case below runs against all three.
LOADERS = [
    ("edge", load, ConfigError, VALID),
    ("central", load_central, CentralConfigError, VALID_CENTRAL),
    ("scenario", load_scenario, ScenarioError, VALID_SCENARIO),
]
LOADER_IDS = [name for name, *_ in LOADERS]


def test_the_valid_documents_load_from_files(tmp_path: Path) -> None:
    for name, loader, _, doc in LOADERS:
        p = tmp_path / f"{name}.yaml"
        p.write_text(yaml.safe_dump(doc), encoding="utf-8")
        loader(p)


@FUZZ
@given(
    which=st.sampled_from(LOADERS),
    text=st.text(max_size=300) | yaml_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
)
def test_arbitrary_file_is_rejected_cleanly_by_every_loader(
    tmp_path: Path, which: tuple[str, Any, type[Exception], dict[str, Any]], text: str
) -> None:
    name, loader, error, _ = which
    p = tmp_path / f"{name}.yaml"
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        loader(p)
    except error as err:
        assert str(err).startswith(str(p))


@FUZZ
@given(data=st.data())
def test_one_value_changed_to_anything_in_every_loader(tmp_path: Path, data: st.DataObject) -> None:
    name, loader, error, valid = data.draw(st.sampled_from(LOADERS))
    doc = copy.deepcopy(valid)
    path = data.draw(st.sampled_from(leaf_paths(doc)))
    set_path(doc, path, data.draw(yaml_values))
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        loader(p)
    except error as err:
        assert str(err).startswith(f"{p}:")


@pytest.mark.parametrize(("name", "loader", "error", "valid"), LOADERS, ids=LOADER_IDS)
@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_rejected_by_every_loader(
    tmp_path: Path, name: str, loader: Any, error: type[Exception], valid: dict[str, Any], bad: str
) -> None:
    for path in _number_paths(valid):
        doc = copy.deepcopy(valid)
        set_path(doc, path, "__BAD__")
        p = tmp_path / f"{name}.yaml"
        p.write_text(yaml.safe_dump(doc).replace("__BAD__", bad), encoding="utf-8")
        with pytest.raises(error, match=rf"{name}\.yaml: invalid "):
            loader(p)


@pytest.mark.parametrize(("name", "loader", "error", "valid"), LOADERS, ids=LOADER_IDS)
def test_a_wrong_type_and_a_non_mapping_are_named_by_every_loader(
    tmp_path: Path, name: str, loader: Any, error: type[Exception], valid: dict[str, Any]
) -> None:
    p = tmp_path / f"{name}.yaml"
    doc = copy.deepcopy(valid)
    doc["zones"][0]["id"] = ["not", "a", "string"]
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(error, match=r"(?m)^  zones\.0\.id: "):
        loader(p)
    for top in ("- a\n- b\n", "just text\n", "42\n", ""):
        p.write_text(top, encoding="utf-8")
        with pytest.raises(error, match="must be a mapping of keys"):
            loader(p)


def _alias_bomb(field: str) -> str:
    # Nine-fold references seven levels deep: 9**8 = 43 million leaves if anything expanded them.
    lines = ["x:", "  a: &a [1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0]"]
    names = "abcdefgh"
    for prev, name in itertools.pairwise(names):
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join([*lines, field, ""])


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "camera: " + "{a: " * 3000 + "1" + "}" * 3000,
        "camera: !!python/object/apply:os.system ['true']",
        "\x00",
        "- ]",
        _alias_bomb("calibration: {homography: *h}"),
        _alias_bomb("zones: [{id: z, polygon: *h}]"),
        _alias_bomb("lines: *h"),
    ],
    ids=["deep-list", "deep-map", "python-tag", "nul", "broken", "bomb-homography", "bomb-polygon", "bomb-lines"],
)
@pytest.mark.parametrize(("name", "loader", "error", "valid"), LOADERS, ids=LOADER_IDS)
def test_hostile_files_are_rejected_quickly(
    tmp_path: Path, text: str, name: str, loader: Any, error: type[Exception], valid: dict[str, Any]
) -> None:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(error, match=rf"{name}\.yaml: "):
        loader(p)
    # Generous bound: these take milliseconds; expanding a bomb or recursing without end takes minutes.
    assert time.perf_counter() - t0 < 10.0


@pytest.mark.parametrize(("name", "loader", "error", "valid"), LOADERS, ids=LOADER_IDS)
def test_missing_and_unreadable_files_are_config_errors(
    tmp_path: Path, name: str, loader: Any, error: type[Exception], valid: dict[str, Any]
) -> None:
    what = "scenario" if name == "scenario" else "config"
    with pytest.raises(error, match=f"cannot read {what}"):
        loader(tmp_path / "absent.yaml")
    with pytest.raises(error, match=f"cannot read {what}"):
        loader(tmp_path)
    (tmp_path / "latin1.yaml").write_bytes("site: caf\xe9\n".encode("latin-1"))
    with pytest.raises(error, match=r"latin1\.yaml: cannot read .*not UTF-8 text \(byte 9 is 0xe9\)"):
        loader(tmp_path / "latin1.yaml")
