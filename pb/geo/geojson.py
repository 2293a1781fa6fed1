"""District boundaries from GeoJSON (RFC 7946): parse, check, and normalise to MultiPolygons.

Accepted: a ``FeatureCollection``, a ``Feature`` or a bare geometry, whose geometries are
``Polygon`` or ``MultiPolygon`` in WGS 84 longitude/latitude degrees. Every polygon is checked:
each ring a closed list of at least four positions of two or three finite numbers, longitude in
−180…180 and latitude in −90…90, and no ring crossing itself. The first problem found is
reported in one sentence naming the feature, ring and point, in the staff member's language.

What comes out is a list of :class:`Shape` (the feature's name property, if asked, and its
polygons as ``[[[lon, lat], ...], ...]`` per polygon: outer ring first, then holes), with
positions rounded to 7 decimals (about a centimetre) and any altitude dropped; the same file
always gives the same canonical text (:func:`canonical`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pb.errors import PbError
from pb.i18n import format_number, ngettext
from pb.i18n import gettext as _

MAX_BYTES = 2 * 1024 * 1024  # a town's districts fit in far less
MAX_VERTICES = 50_000  # in the whole file: enough for detailed outlines, small enough to draw

Position = list[float]
Ring = list[Position]
Polygon = list[Ring]


class GeoJSONError(PbError):
    """A file that is not usable GeoJSON; the message names the problem."""


@dataclass(frozen=True)
class Shape:
    name: str | None  # the feature's name property (when one was asked for)
    polygons: list[Polygon]

    @property
    def geometry(self) -> dict[str, Any]:
        return {"type": "MultiPolygon", "coordinates": self.polygons}


def canonical(polygons: list[Polygon]) -> str:
    """The stored text of a boundary: a MultiPolygon, compact, keys sorted."""
    return json.dumps(
        {"type": "MultiPolygon", "coordinates": polygons}, separators=(",", ":"), sort_keys=True
    )


def load_polygons(text: str) -> list[Polygon]:
    """The polygons of a stored boundary (as written by :func:`canonical`)."""
    coordinates: list[Polygon] = json.loads(text)["coordinates"]
    return coordinates


def parse(data: bytes, name_property: str | None = None) -> list[Shape]:
    """Parse and check a GeoJSON file; raise :class:`GeoJSONError` on the first problem.
    With ``name_property``, every feature must carry that property (a non-empty string or
    number), which names the district it outlines."""
    if len(data) > MAX_BYTES:
        raise GeoJSONError(
            _("The file is larger than %(size)s MB.", size=MAX_BYTES // (1024 * 1024))
        )
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise GeoJSONError(_("The file is not text in UTF-8: it cannot be GeoJSON.")) from None
    except json.JSONDecodeError as exc:
        raise GeoJSONError(
            _(
                "The file is not JSON: %(problem)s at line %(line)s, column %(column)s.",
                problem=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            )
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise GeoJSONError(_('The file is not GeoJSON: it has no "type".'))
    kind = document["type"]
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise GeoJSONError(_('The FeatureCollection has no list of "features".'))
        if not features:
            raise GeoJSONError(_("The FeatureCollection has no features."))
    elif kind == "Feature":
        features = [document]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": document}]
    shapes = [_feature(n, f, name_property) for n, f in enumerate(features, 1)]
    vertices = sum(len(r) for s in shapes for p in s.polygons for r in p)
    if vertices > MAX_VERTICES:
        raise GeoJSONError(
            ngettext(
                "The file has %(num)s point; at most %(max)s are accepted.",
                "The file has %(num)s points; at most %(max)s are accepted. Simplify the "
                "outlines (for example with mapshaper) and upload it again.",
                vertices,
                max=format_number(MAX_VERTICES),
            )
        )
    return shapes


def _feature(number: int, feature: Any, name_property: str | None) -> Shape:
    where = _("Feature %(number)s", number=number)
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise GeoJSONError(_("%(where)s is not a Feature.", where=where))
    name = None
    if name_property:
        properties = feature.get("properties")
        value = properties.get(name_property) if isinstance(properties, dict) else None
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            raise GeoJSONError(
                _(
                    '%(where)s has no property "%(property)s" to name its district.',
                    where=where,
                    property=name_property,
                )
            )
        name = str(value).strip()
        where = f"{where} ({name})"
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise GeoJSONError(_("%(where)s has no geometry.", where=where))
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [_polygon(where, coordinates, None)]
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise GeoJSONError(_("%(where)s: its coordinates are not a list.", where=where))
        polygons = [_polygon(where, c, n) for n, c in enumerate(coordinates, 1)]
    else:
        raise GeoJSONError(
            _(
                "%(where)s is a %(kind)s; only Polygon and MultiPolygon outline a district.",
                where=where,
                kind=str(kind),
            )
        )
    return Shape(name, polygons)


def _polygon(where: str, rings: Any, number: int | None) -> Polygon:
    if number is not None:
        where = _("%(where)s, polygon %(number)s", where=where, number=number)
    if not isinstance(rings, list) or not rings:
        raise GeoJSONError(_("%(where)s: its coordinates are not a list of rings.", where=where))
    return [
        _ring(_("%(where)s, ring %(number)s", where=where, number=n), r)
        for n, r in enumerate(rings, 1)
    ]


def _ring(where: str, ring: Any) -> Ring:
    if not isinstance(ring, list):
        raise GeoJSONError(_("%(where)s is not a list of points.", where=where))
    points = [_position(where, n, p) for n, p in enumerate(ring, 1)]
    if len(points) < 4:
        raise GeoJSONError(
            ngettext(
                "%(where)s has %(num)s point; a ring needs at least 4 (the last one "
                "repeating the first).",
                "%(where)s has %(num)s points; a ring needs at least 4 (the last one "
                "repeating the first).",
                len(points),
                where=where,
            )
        )
    if points[0] != points[-1]:
        raise GeoJSONError(
            _("%(where)s is not closed: its last point must repeat its first.", where=where)
        )
    crossing = self_intersection(points)
    if crossing is not None:
        raise GeoJSONError(
            _(
                "%(where)s crosses itself (segments %(first)s and %(second)s).",
                where=where,
                first=crossing[0] + 1,
                second=crossing[1] + 1,
            )
        )
    return points


def _position(where: str, number: int, value: Any) -> Position:
    if (
        not isinstance(value, list)
        or len(value) not in (2, 3)
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    ):
        raise GeoJSONError(
            _(
                "%(where)s, point %(number)s is not a pair of numbers [longitude, latitude].",
                where=where,
                number=number,
            )
        )
    lon, lat = float(value[0]), float(value[1])
    if not -180 <= lon <= 180:
        raise GeoJSONError(
            _(
                "%(where)s, point %(number)s: longitude %(value)s is outside −180 to 180.",
                where=where,
                number=number,
                value=value[0],
            )
        )
    if not -90 <= lat <= 90:
        raise GeoJSONError(
            _(
                "%(where)s, point %(number)s: latitude %(value)s is outside −90 to 90 "
                "(GeoJSON gives longitude first).",
                where=where,
                number=number,
                value=value[1],
            )
        )
    return [round(lon, 7), round(lat, 7)]


def _segments_cross(a: Position, b: Position, c: Position, d: Position) -> bool:
    """Whether segments ab and cd share a point (touching counts, as it makes a ring invalid)."""

    def orient(p: Position, q: Position, r: Position) -> int:
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (v > 0) - (v < 0)

    def on(p: Position, q: Position, r: Position) -> bool:  # r on segment pq, given collinear
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(
            p[1], q[1]
        )

    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and on(a, b, c))
        or (o2 == 0 and on(a, b, d))
        or (o3 == 0 and on(c, d, a))
        or (o4 == 0 and on(c, d, b))
    )


def self_intersection(ring: Ring) -> tuple[int, int] | None:
    """The first pair of non-adjacent segments of a closed ring that meet (0-based segment
    numbers), or None. Segments are bucketed in a grid of cells about as long as a segment, so
    only segments sharing a cell are compared (about linear time for real outlines); the few
    segments that span many cells are compared with every other one whose box meets theirs."""
    n = len(ring) - 1  # segments
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    x0, y0 = min(xs), min(ys)
    side = max(1, min(4096, n // 4))
    w = (max(xs) - x0) / side or 1.0
    h = (max(ys) - y0) / side or 1.0
    cells: dict[tuple[int, int], list[int]] = {}
    long: list[int] = []

    def cell(v: float, origin: float, size: float) -> int:
        return min(side - 1, int((v - origin) / size))

    boxes = []
    for i in range(n):
        a, b = ring[i], ring[i + 1]
        box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
        boxes.append(box)
        cx0, cx1 = cell(box[0], x0, w), cell(box[2], x0, w)
        cy0, cy1 = cell(box[1], y0, h), cell(box[3], y0, h)
        if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > 16:
            long.append(i)
            continue
        for cx in range(cx0, cx1 + 1):
            for cy in range(cy0, cy1 + 1):
                cells.setdefault((cx, cy), []).append(i)

    def meet(i: int, j: int) -> bool:
        first, second = min(i, j), max(i, j)
        if second - first == 1 or (first == 0 and second == n - 1):
            return False  # neighbours share their end point
        p, q = boxes[i], boxes[j]
        if p[0] > q[2] or q[0] > p[2] or p[1] > q[3] or q[1] > p[3]:
            return False
        return _segments_cross(ring[first], ring[first + 1], ring[second], ring[second + 1])

    found: tuple[int, int] | None = None
    for members in cells.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                pair = (min(i, j), max(i, j))
                if (found is None or pair < found) and meet(i, j):
                    found = pair
    for i in long:
        for j in range(n):
            pair = (min(i, j), max(i, j))
            if i != j and (found is None or pair < found) and meet(i, j):
                found = pair
    return found
