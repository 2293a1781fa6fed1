"""Builders for the map and open-data tests: square district boundaries, and a round whose
results are published (ballots on the city-wide and both district ballots)."""

from __future__ import annotations

import json
from typing import Any

from pb.db import Database
from pb.models import District, Proposal
from pb.services import results, rounds, voting
from tests import frozen
from tests.builders import make_voting_round

TODAY = frozen.TODAY


def square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    return [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]


def collection(**rings: list[list[float]]) -> bytes:
    """A FeatureCollection: one Polygon feature per ``name=ring``."""
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": name},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
                for name, ring in rings.items()
            ],
        }
    ).encode()


def published_round(db: Database, publish: bool = True) -> dict[str, Any]:
    """North and South (populations 1000 and 2000) side by side, outlined; a voting round with
    projects on every ballot, placed inside their district (city-wide ones in South); 6
    ballots on North's ballot and 3 on South's and the city-wide one; counted, and published
    unless ``publish`` is false."""
    r = make_voting_round(db)
    north, south = r["districts"]

    def outline(session: Any) -> None:
        from pb.geo import geojson

        for district_id, lon, pop in ((north, 8.0, 1000), (south, 8.01, 2000)):
            d = session.get(District, district_id)
            d.population = pop
            d.boundary = geojson.canonical([[square(lon, 49.0)]])
        for key, lon in (("north", 8.005), ("south", 8.015), ("citywide", 8.015)):
            for pid in r["projects"][key]:
                p = session.get(Proposal, int(pid))
                p.latitude, p.longitude = 49.005, lon

    db.write_sync(outline)
    p = r["projects"]
    for n in range(6):
        db.write_sync(
            voting.cast, r["round_id"], "district", "north", f"n{n}", {p["north"][1]: 1}, "online",
            TODAY,
        )  # fmt: skip
    for n in range(3):
        db.write_sync(
            voting.cast, r["round_id"], "district", "south", f"s{n}", {p["south"][0]: 1}, "online",
            TODAY,
        )  # fmt: skip
        db.write_sync(
            voting.cast, r["round_id"], "citywide", "citywide", f"s{n}", {p["citywide"][2]: 1},
            "online", TODAY,
        )  # fmt: skip
    db.write_sync(rounds.advance_phase, None, r["round_id"], TODAY)
    db.write_sync(results.tally_round, None, r["round_id"], TODAY)
    if publish:
        db.write_sync(results.publish, None, r["round_id"], TODAY)
    return r
