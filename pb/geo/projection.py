"""Drawing lon/lat on an SVG: an equirectangular projection fitted to the bounds.

Over a town, the earth is flat enough: x is longitude scaled by the cosine of the middle
latitude (so a kilometre east is as long as a kilometre north), y is latitude, flipped. The
frame fits the bounds into ``width`` user units with a margin; its height follows the shape
(capped, so a tall town stays on a screen). Also here: which polygon holds a point (even-odd
ray casting, holes included) and where to put a label (the centroid of the largest ring).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from pb.geo.geojson import Polygon, Ring


@dataclass(frozen=True)
class Frame:
    west: float
    north: float
    scale: float  # user units per degree of latitude
    squeeze: float  # cos(middle latitude)
    margin: float
    width: int
    height: int

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.margin + (lon - self.west) * self.squeeze * self.scale
        y = self.margin + (self.north - lat) * self.scale
        return round(x, 1), round(y, 1)

    def path(self, polygons: list[Polygon]) -> str:
        """SVG path data: one closed subpath per ring (draw with ``fill-rule: evenodd``)."""
        parts = []
        for polygon in polygons:
            for ring in polygon:
                points = [self.xy(lon, lat) for lon, lat in ((p[0], p[1]) for p in ring[:-1])]
                parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z")
        return "".join(parts)


def fit(
    positions: Iterable[tuple[float, float]],
    width: int = 1000,
    max_height: int = 1000,
    margin: int = 16,
) -> Frame | None:
    """The frame that shows every (lon, lat) given; None when there is nothing to show."""
    lons, lats = [], []
    for lon, lat in positions:
        lons.append(lon)
        lats.append(lat)
    if not lons:
        return None
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    squeeze = math.cos(math.radians((north + south) / 2))
    span_x = max((east - west) * squeeze, 1e-4)  # one point: about ten metres around it
    span_y = max(north - south, 1e-4)
    inner = width - 2 * margin
    scale = inner / span_x
    if span_y * scale > max_height - 2 * margin:
        scale = (max_height - 2 * margin) / span_y
    # Centre what is narrower than the frame.
    west -= ((inner / scale) - (east - west) * squeeze) / 2 / squeeze
    height = math.ceil(span_y * scale + 2 * margin)
    return Frame(west, north, scale, squeeze, margin, width, height)


def ring_contains(ring: Ring, lon: float, lat: float) -> bool:
    inside = False
    for (x1, y1, *_a), (x2, y2, *_b) in itertools.pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def contains(polygons: list[Polygon], lon: float, lat: float) -> bool:
    """Whether the point is inside a polygon (inside its outer ring, outside its holes)."""
    return any(
        ring_contains(polygon[0], lon, lat)
        and not any(ring_contains(h, lon, lat) for h in polygon[1:])
        for polygon in polygons
    )


def _area_centroid(ring: Ring) -> tuple[float, float, float]:
    area = cx = cy = 0.0
    for a, b in itertools.pairwise(ring):
        cross = a[0] * b[1] - b[0] * a[1]
        area += cross
        cx += (a[0] + b[0]) * cross
        cy += (a[1] + b[1]) * cross
    if area == 0:
        return 0.0, ring[0][0], ring[0][1]
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


def label_point(polygons: list[Polygon]) -> tuple[float, float]:
    """(lon, lat) for a label: the centroid of the largest outer ring."""
    _area, lon, lat = max((_area_centroid(p[0]) for p in polygons), key=lambda t: t[0])
    return lon, lat
