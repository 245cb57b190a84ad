"""The annotated frame's metrics: a legend of each zone's latest interval and the count by its label.

All in memory: frames are synthetic arrays, geometry is built from an identity-like homography.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.annotate import draw_frame, legend_cells, pixelate_boxes
from edge.calibration import CameraGeometry, draw_zones
from edge.geometry import Homography, make_zone
from edge.types import Frame, Tracks, ZoneMetrics

Image = npt.NDArray[np.uint8]
BACKGROUND = 160  # uniform grey: the legend panel darkens it to about 56, its text is white


def _geometry(
    size: tuple[int, int], zone_ids: list[str], boxes: list[tuple[float, float, float, float]] | None = None
) -> CameraGeometry:
    """Zones as image rectangles (fractions of the frame), by default side by side in the lower
    right quarter, away from the legend (top left) and the frame line (bottom left)."""
    w, h = size
    hom = Homography.from_matrix(np.diag([0.01, 0.01, 1.0]))
    n = len(zone_ids)
    boxes = boxes or [(0.55 + 0.4 * i / n, 0.55, 0.55 + 0.4 * (i + 1) / n, 0.8) for i in range(n)]
    zones = tuple(
        make_zone(zid, hom, image_px=[[x1 * w, y1 * h], [x2 * w, y1 * h], [x2 * w, y2 * h], [x1 * w, y2 * h]])
        for zid, (x1, y1, x2, y2) in zip(zone_ids, boxes, strict=True)
    )
    return CameraGeometry(hom, size, zones, ())


def _metrics(zone: str, speed: float | None = 1.02, *, stale: bool = False, los: str = "A") -> ZoneMetrics:
    return ZoneMetrics("cam", zone, 0, 9, 0.0, 1.0, 5.3, 7, 130.0, 0.04, speed, speed, los, stale)


def _frame(size: tuple[int, int], value: int = BACKGROUND) -> Frame:
    return Frame(42, 4.2, np.full((size[1], size[0], 3), value, np.uint8))


def _render(
    size: tuple[int, int], zone_ids: list[str], metrics: list[ZoneMetrics] | None, tracks: Tracks | None = None
) -> Image:
    geometry = _geometry(size, zone_ids)
    by_zone = None if metrics is None else {m.zone: m for m in metrics}
    los = {m.zone: m.los for m in metrics or []}
    return draw_frame(_frame(size), tracks or Tracks.empty(), geometry, los, metrics_by_zone=by_zone)


def _panel(img: Image) -> tuple[int, int]:
    """Height and width of the dark panel: the largest blob of pixels darker than half the background
    (text rims are dark too, but thin)."""
    dark = (img.max(axis=2) < BACKGROUND // 2).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=4)
    if n < 2:
        return 0, 0
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return int(stats[biggest, cv2.CC_STAT_HEIGHT]), int(stats[biggest, cv2.CC_STAT_WIDTH])


def _white(img: Image) -> npt.NDArray[np.bool_]:
    # Anti-aliased thin text rarely reaches 255; nothing else drawn (or in the test images) is this light.
    return np.asarray((img >= 200).all(axis=2))


ZONES = ["crossing", "crossing-left", "crossing-right"]


def test_legend_is_drawn_only_when_metrics_are_given() -> None:
    size = (480, 360)
    corner = (slice(0, 90), slice(0, 200))
    without = _render(size, ZONES, None)
    empty = _render(size, ZONES, [])
    with_metrics = _render(size, ZONES, [_metrics(z) for z in ZONES])
    # Today's call (no metrics) leaves the top-left corner as the camera saw it.
    assert (without[corner] == BACKGROUND).all()
    assert np.array_equal(without, empty)
    # With metrics: a dark panel with white text there.
    assert _panel(with_metrics)[0] > 0
    assert _white(with_metrics[corner]).sum() > 100


def test_one_legend_row_per_zone_each_with_text() -> None:
    size = (480, 360)
    heights = [_panel(_render(size, ZONES[:n], [_metrics(z) for z in ZONES[:n]]))[0] for n in (1, 2, 3)]
    step = heights[1] - heights[0]
    # Each zone adds one line of the same height (a line of text is at least ~10 px at 360 rows).
    assert step >= 10
    assert heights[2] - heights[1] == step
    img = _render(size, ZONES, [_metrics(z) for z in ZONES])
    top = heights[0] - step  # panel padding plus the first line's top
    for row in range(3):
        band = img[top + row * step : top + (row + 1) * step, : size[0] // 2]
        assert _white(band).sum() > 30, f"row {row} has no text"


def test_legend_cells_format_and_none_speed() -> None:
    cells = legend_cells(_metrics("crossing", 1.02))
    assert [c for c in cells if c] == ["crossing", "5.3 ppl", "(tracks)", "0.04/m2", "1.02 m/s", "LOS A"]
    none_cells = legend_cells(_metrics("crossing", None, stale=True))
    assert "- m/s" in none_cells and "stale" in none_cells
    # And it draws: the speed cell differs from a zone with a speed.
    size = (480, 360)
    a = _render(size, ["crossing"], [_metrics("crossing", None)])
    b = _render(size, ["crossing"], [_metrics("crossing", 1.02)])
    assert not np.array_equal(a, b)


def test_legend_text_is_ascii_only() -> None:
    # cv2.putText cannot draw "²" or accented ids; the legend says "/m2" and replaces what it cannot draw.
    cells = legend_cells(_metrics("entrée²"))
    assert all(c.isascii() for c in cells)
    assert cells[0] == "entr?e?"


def test_count_source_is_shown_when_known() -> None:
    tracks = _metrics("crossing")  # ZoneMetrics' default source
    detections = replace(tracks, count_source="detections")
    unknown = replace(tracks, count_source="")
    assert "(tracks)" in legend_cells(tracks)
    assert "(detections)" in legend_cells(detections) and "(tracks)" not in legend_cells(detections)
    assert not any("(" in c for c in legend_cells(unknown))
    size = (480, 360)
    widths = [_panel(_render(size, ["crossing"], [m]))[1] for m in (unknown, tracks, detections)]
    # "(tracks)" adds a column; "(detections)" is four characters wider than "(tracks)".
    assert widths[1] > widths[0] + 20
    assert widths[2] > widths[1] + 10


@pytest.mark.parametrize("size", [(1920, 1080), (320, 240)])
def test_large_and_small_frames(size: tuple[int, int]) -> None:
    img = _render(size, ZONES, [_metrics(z, stale=True) for z in ZONES])
    assert img.shape == (size[1], size[0], 3)
    height, width = _panel(img)
    assert height > 0
    # Inside the frame with its right edge showing: the table was shrunk to fit a narrow frame.
    assert width < size[0] - 4


def test_font_scales_with_frame_height() -> None:
    small = _panel(_render((480, 360), ZONES, [_metrics(z) for z in ZONES]))[0]
    large = _panel(_render((1920, 1080), ZONES, [_metrics(z) for z in ZONES]))[0]
    assert large > 2.5 * small


@pytest.mark.parametrize("size", [(320, 240), (480, 360)])
def test_many_zones_leave_the_frame_line_uncovered(size: tuple[int, int]) -> None:
    # Zones the geometry does not know still get legend rows (after the known ones), so 40 of them
    # overflow the frame's height; the legend must stop above the frame/time line.
    metrics = [_metrics(f"z{i:02d}") for i in range(40)]
    without = _render(size, ["z00"], [])
    with_many = _render(size, ["z00"], metrics)
    # The frame/time line: the rows of the bottom-left quarter that `without` drew anything on.
    quarter = without[size[1] // 2 :, : size[0] // 2]
    drawn_rows = np.flatnonzero((quarter != BACKGROUND).any(axis=(1, 2))) + size[1] // 2
    line_top = int(drawn_rows.min())
    assert line_top > size[1] - size[1] // 6  # (it is the frame line, at the bottom)
    assert np.array_equal(with_many[line_top - 2 :], without[line_top - 2 :])
    # ...but the panel does reach down most of the way, with a row saying how many zones are left out.
    assert _panel(with_many)[0] >= size[1] * 2 // 3


def test_confirmed_and_tentative_tracks_look_different() -> None:
    box = np.array([[40.0, 200.0, 80.0, 300.0]], np.float32)
    confirmed = _render((480, 360), ZONES, None, Tracks(np.array([7]), box, np.array([True])))
    tentative = _render((480, 360), ZONES, None, Tracks(np.array([7]), box, np.array([False])))
    assert not np.array_equal(confirmed, tentative)
    # Only the confirmed one has its id above the box (green text in the rows above it).
    above = (slice(180, 199), slice(40, 70))
    assert (confirmed[above] != BACKGROUND).any()
    assert (tentative[above] == BACKGROUND).all()


def _textured(size: tuple[int, int]) -> Image:
    # Nothing as light as 200 anywhere, so any such pixel later is drawn text.
    return np.random.default_rng(3).integers(40, 200, size=(size[1], size[0], 3), dtype=np.uint8)


def test_blur_pixelates_boxes_but_not_the_legend() -> None:
    size = (480, 360)
    image = _textured(size)
    person = (40.0, 200.0, 104.0, 320.0)  # bottom left, clear of the zones and the legend
    over_legend = (0.0, 0.0, 240.0, 64.0)  # a person walking behind the legend panel
    tracks = Tracks(np.array([1, 2]), np.array([person, over_legend], np.float32), np.array([True, True]))
    geometry = _geometry(size, ZONES)
    metrics = {z: _metrics(z) for z in ZONES}
    out = draw_frame(Frame(0, 0.0, image), tracks, geometry, {}, blur_people=True, metrics_by_zone=metrics)
    expected = image.copy()
    pixelate_boxes(expected, tracks.xyxy)
    # The person's pixels (inside the box outline) are exactly the pixelated ones: nothing of the face is left.
    inner = (slice(204, 316), slice(44, 100))
    assert np.array_equal(out[inner], expected[inner])
    assert not np.array_equal(out[inner], image[inner])
    # The legend is drawn after pixelation: its text is still crisp white, which 8x8 averaging would have greyed.
    assert _white(out[0:64, 0:240]).sum() > 100


def test_zone_label_shows_the_count() -> None:
    size = (480, 360)
    geometry = _geometry(size, ["crossing"])
    blank: Image = np.full((size[1], size[0], 3), BACKGROUND, np.uint8)
    plain, noted = blank.copy(), blank.copy()
    draw_zones(plain, geometry, {"crossing": "A"})
    draw_zones(noted, geometry, {"crossing": "A"}, notes_by_zone={"crossing": "5.3 ppl"})
    # The noted label is longer: more white text pixels, around the zone's centre.
    assert _white(noted).sum() > _white(plain).sum() + 30
    # draw_frame puts the count there when given metrics.
    with_metrics = _render(size, ["crossing"], [_metrics("crossing")])
    geometry_only = draw_frame(_frame(size), Tracks.empty(), geometry, {"crossing": "A"})
    zone_area = (slice(size[1] // 2, size[1]), slice(size[0] // 2, size[0]))
    assert not np.array_equal(with_metrics[zone_area], geometry_only[zone_area])


def test_zone_labels_stay_in_the_frame_and_apart() -> None:
    size = (480, 360)
    # One zone mostly off the right edge; two nested zones sharing a centroid.
    boxes = [(0.9, 0.1, 1.6, 0.3), (0.2, 0.5, 0.6, 0.9), (0.3, 0.6, 0.5, 0.8)]
    geometry = _geometry(size, ["edge-zone", "outer", "inner"], boxes)
    img: Image = np.zeros((size[1], size[0], 3), np.uint8)
    draw_zones(img, geometry, {"edge-zone": "B", "outer": "A", "inner": "A"})
    white = _white(img)
    top = white[: size[1] // 2]
    cols = np.flatnonzero(top.any(axis=0))
    text_w = cv2.getTextSize("edge-zone LOS B", cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0]
    # The whole label is drawn, ending inside the frame (its centroid is off the frame).
    assert cols.max() < size[0] - 1
    assert cols.max() - cols.min() >= 0.9 * text_w
    # The nested zones' labels are on separate lines: two bands of text rows, not one.
    rows = white[size[1] // 2 :].any(axis=1).astype(int)
    bands = int((np.diff(rows) == 1).sum())
    assert bands == 2


def test_blur_also_pixelates_people_counted_but_not_tracked() -> None:
    """Boxes below the tracking threshold are counted per frame in crowds: they are people, and a
    privacy-blurred output must not show their faces either."""
    size = (480, 360)
    image = _textured(size)
    untracked = np.array([(40.0, 200.0, 104.0, 320.0)], np.float32)
    geometry = _geometry(size, ZONES)
    inner = (slice(204, 316), slice(44, 100))
    without = draw_frame(Frame(0, 0.0, image), Tracks.empty(), geometry, {}, blur_people=True)
    assert np.array_equal(without[inner], image[inner])  # nothing tracked there, nothing pixelated
    out = draw_frame(Frame(0, 0.0, image), Tracks.empty(), geometry, {}, blur_people=True, detected_xyxy=untracked)
    expected = image.copy()
    pixelate_boxes(expected, untracked)
    assert np.array_equal(out[inner], expected[inner])
    assert not np.array_equal(out[inner], image[inner])
