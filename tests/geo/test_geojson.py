"""GeoJSON boundaries: what is accepted, normalised, and each problem named in one sentence."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest

from pb.geo import geojson
from pb.geo.geojson import GeoJSONError
from tests.geo_builders import collection, square


def polygon(*rings: list[list[float]]) -> bytes:
    return json.dumps({"type": "Polygon", "coordinates": list(rings)}).encode()


def test_a_feature_collection_matched_by_name() -> None:
    shapes = geojson.parse(collection(North=square(8, 49), South=square(8.01, 49)), "name")
    assert [s.name for s in shapes] == ["North", "South"]
    assert shapes[0].polygons == [[square(8, 49)]]


def test_a_bare_polygon_a_feature_and_a_multipolygon_with_a_hole() -> None:
    assert geojson.parse(polygon(square(8, 49)))[0].polygons == [[square(8, 49)]]
    feature = {"type": "Feature", "properties": None, "geometry": json.loads(polygon(square(1, 2)))}
    assert geojson.parse(json.dumps(feature).encode())[0].polygons == [[square(1, 2)]]
    outer, hole = square(8, 49, 0.1), square(8.02, 49.02, 0.01)
    multi = {"type": "MultiPolygon", "coordinates": [[outer, hole], [square(9, 49)]]}
    shapes = geojson.parse(json.dumps(multi).encode())
    assert shapes[0].polygons == [[outer, hole], [square(9, 49)]]


def test_altitude_is_dropped_positions_rounded_and_a_bom_accepted() -> None:
    ring = [[8.123456789, 49.0, 120], [8.2, 49.0, 5], [8.2, 49.1, 0], [8.123456789, 49.0, 120]]
    shapes = geojson.parse(b"\xef\xbb\xbf" + polygon(ring))
    assert shapes[0].polygons[0][0][0] == [8.1234568, 49.0]
    text = geojson.canonical(shapes[0].polygons)
    assert geojson.load_polygons(text) == shapes[0].polygons
    assert json.loads(text)["type"] == "MultiPolygon"


def bowtie() -> list[list[float]]:
    return [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]


@pytest.mark.parametrize(
    "data, name_property, message",
    [
        (b"{not json", None, "The file is not JSON: Expecting property name"),
        (b"\xff\xfe{}", None, "not text in UTF-8"),
        (b"[1, 2]", None, 'it has no "type"'),
        (b'{"type": "FeatureCollection", "features": []}', None, "has no features"),
        (b'{"type": "FeatureCollection"}', None, 'no list of "features"'),
        (
            b'{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}',
            None,
            "Feature 1 is a LineString; only Polygon and MultiPolygon",
        ),
        (b'{"type": "Feature", "geometry": null}', None, "Feature 1 has no geometry"),
        (
            polygon([[0, 0], [1, 0], [1, 1], [0, 1]]),
            None,
            "Feature 1, ring 1 is not closed: its last point must repeat its first",
        ),
        (polygon([[0, 0], [1, 0], [0, 0]]), None, "ring 1 has 3 points; a ring needs at least 4"),
        (
            polygon([[0, 0], [200, 0], [1, 1], [0, 0]]),
            None,
            "ring 1, point 2: longitude 200 is outside −180 to 180",
        ),
        (
            polygon([[0, 0], [1, 95], [1, 1], [0, 0]]),
            None,
            "ring 1, point 2: latitude 95 is outside −90 to 90",
        ),
        (
            polygon([[0, 0], ["1", 0], [1, 1], [0, 0]]),
            None,
            "point 2 is not a pair of numbers",
        ),
        (polygon(bowtie()), None, "Feature 1, ring 1 crosses itself (segments 1 and 3)"),
        (
            json.dumps(
                {"type": "MultiPolygon", "coordinates": [[square(0, 0)], [bowtie()]]}
            ).encode(),
            None,
            "Feature 1, polygon 2, ring 1 crosses itself",
        ),
        (
            collection(North=square(8, 49)),
            "district",
            'Feature 1 has no property "district" to name its district',
        ),
        (
            collection(North=square(8, 49), South=[[0, 0], [1, 0], [1, 1], [0, 1]]),
            "name",
            "Feature 2 (South), ring 1 is not closed",
        ),
    ],
)
def test_each_problem_is_named(data: bytes, name_property: str | None, message: str) -> None:
    with pytest.raises(GeoJSONError) as caught:
        geojson.parse(data, name_property)
    assert message in str(caught.value)


def circle(n: int, lon: float = 8.0, lat: float = 49.0) -> list[list[float]]:
    ring = [
        [round(lon + 0.1 * math.cos(2 * math.pi * k / n), 7),
         round(lat + 0.1 * math.sin(2 * math.pi * k / n), 7)]
        for k in range(n)
    ]  # fmt: skip
    return [*ring, ring[0]]


def test_too_many_points_and_too_large_a_file() -> None:
    many = {"type": "MultiPolygon", "coordinates": [[circle(10_001)] for _ in range(5)]}
    with pytest.raises(GeoJSONError, match="has 50,010 points; at most 50,000 "):
        geojson.parse(json.dumps(many).encode())
    with pytest.raises(GeoJSONError, match="larger than 2 MB"):
        geojson.parse(b" " * (geojson.MAX_BYTES + 1))


def test_the_crossing_check_is_fast_and_finds_a_crossing_in_a_long_ring() -> None:
    ring = circle(20_000)
    start = time.perf_counter()
    assert geojson.self_intersection(ring) is None
    assert time.perf_counter() - start < 3
    # Swap two far-apart points: the ring now crosses itself.
    crossed: list[Any] = [list(p) for p in ring]
    crossed[100], crossed[10_000] = crossed[10_000], crossed[100]
    assert geojson.self_intersection(crossed) is not None


def test_touching_counts_as_crossing_but_neighbours_do_not() -> None:
    # A ring that comes back to touch one of its own corners.
    touching = [[0, 0], [2, 0], [2, 2], [1, 0], [0, 2], [0, 0]]
    assert geojson.self_intersection(touching) is not None
    assert geojson.self_intersection(square(0, 0)) is None


def test_long_edges_are_checked_against_short_ones() -> None:
    zigzag = [[k / 1000, (k % 2) / 1000] for k in range(10_000)]
    fine = [*zigzag, [10, 5], [0, 5], zigzag[0]]
    assert geojson.self_intersection(fine) is None
    # A long edge from the top right down through the zigzag.
    crossing = [*zigzag, [10, 5], [5, -1], [0, 5], zigzag[0]]
    found = geojson.self_intersection(crossing)
    assert found == (4166, 10_001)  # the edge (5, -1) → (0, 5) crosses the zigzag at x ≈ 4.17
