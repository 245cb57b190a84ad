"""The package layers: edge and central talk only through `contract`, which needs nothing but pydantic."""

from __future__ import annotations

from pathlib import Path

from scripts import check_imports


def test_the_tree_keeps_its_layers() -> None:
    assert check_imports.problems() == []


def test_a_forbidden_import_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    for package in ("edge", "central", "forecasting", "contract"):
        (tmp_path / package).mkdir()
    (tmp_path / "central" / "ingest.py").write_text("import json\nfrom edge.types import ZoneMetrics\n")
    (tmp_path / "edge" / "sinks.py").write_text("def f():\n    import central.store\n")
    (tmp_path / "contract" / "wire.py").write_text("import json\nimport pydantic\nimport numpy\n")
    assert check_imports.problems(tmp_path) == [
        "central/ingest.py:2: central must not import edge",
        "contract/wire.py:3: contract may import only the standard library and contract, pydantic, not numpy",
        "edge/sinks.py:2: edge must not import central",
    ]
