"""What the config files must mean, beyond their types: files that exist, zones on the site and in view,
polygons that do not cross themselves, and relative paths read from the config file's folder."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from central import cli as central_cli
from central.config import ConfigError as CentralConfigError
from central.config import load as load_central
from central.config import parse as parse_central
from central.playback.scenario import ScenarioError
from central.playback.scenario import parse as parse_scenario
from edge import cli as edge_cli
from edge.config import ConfigError, load, parse, rebase_paths
from tests.unit.test_fuzz_config import VALID, VALID_CENTRAL, VALID_SCENARIO

BOWTIE = [[0, 0], [10, 10], [10, 0], [0, 10]]


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


# -- central ------------------------------------------------------------------------------------------
def test_central_base_map_is_read_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "map.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    doc = copy.deepcopy(VALID_CENTRAL)
    doc["site"]["basemap"] = "map.geojson"
    cfg = load_central(_write(tmp_path / "site" / "central.yaml", doc))
    assert cfg.site.basemap is not None and Path(cfg.site.basemap).resolve() == tmp_path / "site" / "map.geojson"


def test_central_missing_base_map_is_named_by_check_config_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(VALID_CENTRAL)
    doc["site"]["basemap"] = "nowhere.geojson"
    path = _write(tmp_path / "central.yaml", doc)
    for command in ("check-config", "run"):
        assert central_cli.main([command, str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}: invalid config" in err and "site.basemap: no such file" in err and "nowhere.geojson" in err


def test_central_latin1_file_is_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "central.yaml"
    path.write_bytes("site: {name: Caf\xe9}\n".encode("latin-1"))
    assert central_cli.main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and str(path) in err and "Traceback" not in err


def test_central_site_without_zones_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(VALID_CENTRAL)
    doc["zones"] = []
    with pytest.raises(CentralConfigError, match=r"(?m)^  zones: a site needs at least one zone"):
        load_central(_write(tmp_path / "central.yaml", doc))


def test_central_zone_with_latitude_and_longitude_swapped_is_named() -> None:
    doc = copy.deepcopy(VALID_CENTRAL)
    other = copy.deepcopy(doc["zones"][0])
    other.update(id="swapped", edge_zone="other")
    other["polygon"] = [[lat, lon] for lon, lat in other["polygon"]]
    doc["zones"].append(other)
    with pytest.raises(CentralConfigError, match=r"zones\.1\.polygon: zone 'swapped' .*swapped.*\[lon, lat\]"):
        parse_central(doc)
    # Without a site centre the other zones say where the site is.
    del doc["site"]["center"]
    with pytest.raises(CentralConfigError, match="swapped"):
        parse_central(doc)
    doc["zones"] = doc["zones"][1:]  # one zone alone, nothing to compare it with: in range, so accepted
    parse_central(doc)


def test_central_coordinates_out_of_range_are_named() -> None:
    doc = copy.deepcopy(VALID_CENTRAL)
    doc["zones"][0]["polygon"][1] = [200.0, 51.44]
    with pytest.raises(CentralConfigError, match=r"zones\.0\.polygon"):
        parse_central(doc)


def test_central_self_intersecting_polygon_is_named() -> None:
    doc = copy.deepcopy(VALID_CENTRAL)
    doc["zones"][0]["polygon"] = [[-0.9465 + x * 1e-5, 51.4414 + y * 1e-5] for x, y in BOWTIE]
    with pytest.raises(CentralConfigError, match=r"zones\.0\.polygon: .*crosses itself"):
        parse_central(doc)


# -- scenarios ---------------------------------------------------------------------------------------
def test_scenario_self_intersecting_polygon_is_named() -> None:
    doc = copy.deepcopy(VALID_SCENARIO)
    doc["zones"][0]["polygon_m"] = BOWTIE
    with pytest.raises(ScenarioError, match=r"zones\.0\.polygon_m: .*crosses itself"):
        parse_scenario(doc)


# -- edge --------------------------------------------------------------------------------------------
def test_edge_self_intersecting_polygon_is_named_not_zero_area() -> None:
    for key in ("polygon", "image_polygon"):
        doc = copy.deepcopy(VALID)
        doc["zones"] = [{"id": "z", key: BOWTIE}]
        doc["lines"] = []
        with pytest.raises(ConfigError, match=rf"zones\.0\.{key}: .*crosses itself"):
            parse(doc)


def test_edge_zone_outside_the_view_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = copy.deepcopy(VALID)  # 480x360 px see the ground from (0, 0) to (20, 15) m
    doc["zones"].append({"id": "behind", "polygon": [[100, 100], [110, 100], [110, 110]]})
    doc["zones"].append({"id": "off-image", "image_polygon": [[500, 10], [600, 10], [600, 100]]})
    path = _write(tmp_path / "edge.yaml", doc)
    assert edge_cli.main(["run", str(path), "--no-mqtt"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: zones.1: zone behind lies entirely outside the camera's view" in err
    doc["zones"].pop(1)
    assert edge_cli.main(["run", str(_write(path, doc)), "--no-mqtt"]) == 2
    assert "zone off-image lies entirely outside" in capsys.readouterr().err
    # Partly in view is fine: the part outside simply holds nobody.
    doc["zones"][1]["image_polygon"] = [[400, 10], [600, 10], [600, 100]]
    assert "outside" not in _load_error(_write(path, doc))


def _load_error(path: Path) -> str:
    try:
        edge_cli._load(str(path), None)
    except ConfigError as err:
        return str(err)
    return ""


def test_edge_relative_paths_are_read_from_the_config_folder(tmp_path: Path) -> None:
    doc = copy.deepcopy(VALID)
    doc["camera"]["source"] = "../clips/video.avi"
    doc["detector"]["model"] = "models/det.onnx"
    doc["mqtt"]["tls"] = {"ca_certs": "ca.pem"}
    cfg = load(_write(tmp_path / "configs" / "edge.yaml", doc))
    assert Path(cfg.camera.source) == tmp_path / "clips" / "video.avi"
    assert Path(str(cfg.detector.model)) == tmp_path / "configs" / "models" / "det.onnx"
    assert cfg.mqtt.tls is not None and Path(str(cfg.mqtt.tls.ca_certs)) == tmp_path / "configs" / "ca.pem"
    for kept in ("rtsp://cam/1", "0", "/abs/video.avi"):
        doc["camera"]["source"] = kept
        assert load(_write(tmp_path / "configs" / "edge.yaml", doc)).camera.source == kept
    assert parse(doc).camera.source == "/abs/video.avi"  # data not from a file: paths as given


def test_edge_config_copied_to_another_folder_keeps_finding_its_files(tmp_path: Path) -> None:
    doc = copy.deepcopy(VALID)
    doc["camera"]["source"] = "../clips/video.avi"
    moved = rebase_paths(doc, tmp_path / "configs", tmp_path / "out" / "new")
    cfg = load(_write(tmp_path / "out" / "new" / "edge.yaml", moved))
    assert Path(cfg.camera.source) == tmp_path / "clips" / "video.avi"
    assert doc["camera"]["source"] == "../clips/video.avi"  # the original is not changed


def test_repo_configs_find_their_files_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    pets = load(repo / "configs" / "pets09_s2l1.yaml")
    # Both sides resolved: ../shared may be a link to the data set's real folder.
    assert (
        Path(pets.camera.source).resolve()
        == (
            repo.parent / "shared" / "data" / "pets09_s2l1" / "video" / ("vtest_PETS09-S2L1_View001_480x360.avi")
        ).resolve()
    )
    demo_yaml = repo / "configs" / "demo" / "central.yaml"  # scripts/demo.py adds its zones
    demo = parse_central(yaml.safe_load(demo_yaml.read_text()), demo_yaml, base_dir=demo_yaml.parent)
    assert demo.site.basemap is not None and Path(demo.site.basemap).is_file()
