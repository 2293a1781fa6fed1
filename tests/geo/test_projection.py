"""The map's projection: fitted to the bounds, distances true east-west and north-south."""

from __future__ import annotations

import math

from pb.geo import projection
from tests.geo_builders import square


def test_the_frame_fits_the_bounds_and_keeps_the_shape() -> None:
    # A square in kilometres at 60° N is twice as tall in degrees of longitude as wide.
    lat = 60.0
    d = 0.01
    ring = [[0, lat], [2 * d, lat], [2 * d, lat + d], [0, lat + d], [0, lat]]
    frame = projection.fit((p[0], p[1]) for p in ring)
    assert frame is not None
    xs, ys = zip(*(frame.xy(p[0], p[1]) for p in ring), strict=True)
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    assert math.isclose(width / height, 2 * math.cos(math.radians(lat + d / 2)), rel_tol=0.01)
    assert min(xs) >= 0 and max(xs) <= frame.width and max(ys) <= frame.height
    assert frame.xy(0, lat + d)[1] < frame.xy(0, lat)[1]  # north is up


def test_a_tall_town_is_capped_and_centred() -> None:
    frame = projection.fit([(8.0, 49.0), (8.001, 49.1)], width=1000, max_height=600)
    assert frame is not None and frame.height <= 600
    x, _y = frame.xy(8.0005, 49.05)
    assert abs(x - 500) < 2


def test_nothing_to_draw_and_one_point() -> None:
    assert projection.fit([]) is None
    frame = projection.fit([(8.0, 49.0)])
    assert frame is not None and frame.height > 0


def test_containment_respects_holes_and_the_label_sits_in_the_largest_ring() -> None:
    outer, hole = square(0, 0, 10), square(4, 4, 2)
    polygons = [[outer, hole], [square(20, 20, 1)]]
    assert projection.contains(polygons, 1, 1)
    assert not projection.contains(polygons, 5, 5)  # in the hole
    assert projection.contains(polygons, 20.5, 20.5)
    assert not projection.contains(polygons, 15, 15)
    lon, lat = projection.label_point(polygons)
    assert math.isclose(lon, 5) and math.isclose(lat, 5)


def test_the_path_has_one_closed_subpath_per_ring() -> None:
    frame = projection.fit([(0, 0), (10, 10)])
    assert frame is not None
    d = frame.path([[square(0, 0, 10), square(4, 4, 2)]])
    assert d.count("M") == 2 and d.count("Z") == 2
