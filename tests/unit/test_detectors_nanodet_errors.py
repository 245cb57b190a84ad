"""What the nanodet backend says when its model file is missing, broken or not a NanoDet-m: always a
DetectorError naming the file and what was expected, never onnxruntime's own exception."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.detectors import DetectorError, ModelNotFoundError, build_detector
from edge.detectors.base import DetectorContext
from edge.detectors.nanodet import NanoDetDetector
from edge.types import Frame
from tests.unit.nanodet_graph import write_nanodet


def build(path: Path) -> NanoDetDetector:
    return NanoDetDetector(DetectorConfig(kind="nanodet", model=str(path), threads=1), DetectorContext())


def assert_ours(err: BaseException) -> None:
    """A DetectorError of ours, not onnxruntime's exception re-raised or chained for the user to read."""
    assert type(err).__module__.startswith("edge.")
    assert err.__cause__ is None


def test_a_missing_model_names_its_path_and_how_to_build_it(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "nanodet-m.onnx"
    with pytest.raises(ModelNotFoundError, match=re.escape(str(missing))) as err:
        build(missing)
    assert "scripts/build_models.py" in str(err.value)
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, DetectorError)
    # The same through the registry, where 'nanodet' was asked for by name (no fallback then).
    with pytest.raises(ModelNotFoundError, match=re.escape(str(missing))):
        build_detector(DetectorConfig(kind="nanodet", model=str(missing)))


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=re.escape(str(tmp_path))):
        build(tmp_path)


def test_a_truncated_model_is_a_detector_error_naming_the_file(tmp_path: Path) -> None:
    whole = write_nanodet(tmp_path / "whole.onnx").read_bytes()
    assert len(whole) > 2000
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(whole[:1000])
    with pytest.raises(DetectorError, match=re.escape(str(truncated))) as err:
        build(truncated)
    assert not isinstance(err.value, ModelNotFoundError)  # it is there, it is broken: rebuild, not build
    assert "scripts/build_models.py" in str(err.value)
    assert_ours(err.value)


@pytest.mark.parametrize(
    "content", [b"", b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", b"\x00" * 64]
)
def test_a_file_that_is_no_onnx_model_is_a_detector_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "nanodet-m.onnx"
    path.write_bytes(content)
    with pytest.raises(DetectorError, match=re.escape(str(path))) as err:
        build(path)
    assert_ours(err.value)


def test_a_model_with_a_one_channel_input_says_what_input_was_expected(tmp_path: Path) -> None:
    path = write_nanodet(tmp_path / "grey.onnx", channels=1)
    with pytest.raises(DetectorError, match=r"expected one \[1, 3, H, W\] image input") as err:
        build(path)
    assert str(path) in str(err.value) and "[1, 1, 'H', 'W']" in str(err.value)  # and what it got
    assert_ours(err.value)


def test_a_model_with_the_wrong_number_of_outputs_says_how_many_were_expected(tmp_path: Path) -> None:
    path = write_nanodet(tmp_path / "two_strides.onnx", {32: (1, 1, 1, 1)}, strides=(16, 32))
    with pytest.raises(DetectorError, match=r"expected 6 outputs .*got 4") as err:
        build(path)
    assert str(path) in str(err.value)
    assert_ours(err.value)


def test_outputs_that_do_not_fit_a_gfl_head_fail_on_the_first_frame_with_the_shapes(tmp_path: Path) -> None:
    # Six outputs and a [1, 3, H, W] input, but 81 classes: only running it shows the shapes.
    path = write_nanodet(tmp_path / "coco81.onnx", num_classes=81)
    det = build(path)
    with pytest.raises(DetectorError, match=r"not a NanoDet-m model: expected for stride 8") as err:
        det.detect(Frame(0, 0.0, np.zeros((64, 64, 3), np.uint8)))
    message = str(err.value)
    # 64x64 at the fallback scale (capped at 2x) is a 128x128 input: 256 cells at stride 8.
    assert str(path) in message and "[1, 256, 80]" in message and "[1, 256, 81]" in message
    assert_ours(err.value)


def test_a_good_model_builds(tmp_path: Path) -> None:
    det = build(write_nanodet(tmp_path / "good.onnx"))
    assert det.name == "nanodet" and det.path == tmp_path / "good.onnx"
    assert len(det.detect(Frame(0, 0.0, np.zeros((64, 64, 3), np.uint8)))) == 0
