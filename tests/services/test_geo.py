"""Boundaries stored all or nothing, project places, and a round's map figures."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from pb.db import Database
from pb.errors import NotFound, ValidationError
from pb.models import AuditEvent, District, Phase
from pb.services import geo, geo_map
from tests import frozen
from tests.builders import make_districts, make_proposal, make_round
from tests.geo_builders import collection, published_round, square

TODAY = frozen.TODAY


def boundaries(db: Database) -> dict[str, str | None]:
    return db.read_sync(
        lambda s: {d.name: d.boundary for d in s.scalars(select(District).order_by(District.id))}
    )


def test_a_collection_outlines_the_districts_it_names(db: Database) -> None:
    make_districts(db)
    data = collection(north=square(8, 49), SOUTH=square(8.01, 49))  # case is ignored
    names = db.write_sync(geo.set_boundaries, None, data, "name", None)
    assert names == ["North", "South"]
    stored = boundaries(db)
    assert json.loads(stored["North"] or "")["coordinates"] == [[square(8, 49)]]
    events = db.read_sync(lambda s: s.scalars(select(AuditEvent.action)).all())
    assert events.count("district.boundary") == 2


@pytest.mark.parametrize(
    "data, message",
    [
        (collection(North=square(8, 49), East=square(9, 49)), 'No district is named "East"'),
        (collection(North=square(8, 49), north=square(9, 49)), "Two features name the district"),
        (b"{", "The file is not JSON"),
    ],
)
def test_a_bad_file_changes_nothing(db: Database, data: bytes, message: str) -> None:
    make_districts(db)
    db.write_sync(geo.set_boundaries, None, collection(North=square(1, 1)), "name", None)
    before = boundaries(db)
    with pytest.raises(ValidationError) as caught:
        db.write_sync(geo.set_boundaries, None, data, "name", None)
    assert message in caught.value.errors["file"]
    assert boundaries(db) == before


def test_one_file_for_one_district_and_clearing(db: Database) -> None:
    north, south = make_districts(db)
    bare = json.dumps({"type": "Polygon", "coordinates": [square(8, 49)]}).encode()
    assert db.write_sync(geo.set_boundaries, None, bare, "ignored", south) == ["South"]
    two = collection(A=square(8, 49), B=square(9, 49))
    with pytest.raises(ValidationError, match="has 2 features"):
        db.write_sync(geo.set_boundaries, None, two, "name", north)
    with pytest.raises(NotFound):
        db.write_sync(geo.set_boundaries, None, bare, "name", 999)
    outlines = {o.name: o.points for o in db.read_sync(geo.outlines)}
    assert outlines == {"North": 0, "South": 5}
    assert db.write_sync(geo.clear_boundary, None, south) == "South"
    assert boundaries(db)["South"] is None


@pytest.mark.parametrize(
    "lat, lon, expected",
    [
        ("48.8566", "2.3522", (48.8566, 2.3522)),
        ("48,8566", "−2,35", (48.8566, -2.35)),
        ("", "", None),
    ],
)
def test_coordinates_are_read(lat: str, lon: str, expected: object) -> None:
    assert geo.parse_coordinates(lat, lon) == expected


@pytest.mark.parametrize(
    "lat, lon, field",
    [("91", "0", "latitude"), ("0", "181", "longitude"), ("x", "0", "latitude"),
     ("1", "", "longitude"), ("nan", "0", "latitude")],
)  # fmt: skip
def test_bad_coordinates_are_named(lat: str, lon: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        geo.parse_coordinates(lat, lon)
    assert field in caught.value.errors


def test_pabulib_columns_give_a_place() -> None:
    assert geo.pabulib_coordinates({"latitude": "50.06", "longitude": "19.94"}) == (50.06, 19.94)
    assert geo.pabulib_coordinates({"latitude": "n/a", "longitude": "19.94"}) is None
    assert geo.pabulib_coordinates({}) is None


def test_a_project_is_placed_and_taken_off(db: Database) -> None:
    districts = make_districts(db)
    rid = make_round(db, districts, None)  # type: ignore[arg-type]
    pid = make_proposal(db, rid, None)  # type: ignore[arg-type]
    db.write_sync(geo.set_location, None, pid, (49.1, 8.2))
    page = db.read_sync(geo_map.round_map, rid, TODAY, None)
    assert page.projects == [] and not page.published  # submitted: not on the map yet
    db.write_sync(geo.set_location, None, pid, None)
    with pytest.raises(NotFound):
        db.write_sync(geo.set_location, None, 999, None)


def test_the_map_before_results_has_no_figures(db: Database) -> None:
    r = published_round(db, publish=False)
    page = db.read_sync(geo_map.round_map, r["round_id"], TODAY, "turnout")
    assert not page.published and page.shade is None and page.legend == []
    assert all(d.turnout is None and d.funded is None and d.shade == 0 for d in page.districts)
    assert all(p.funded is None for p in page.projects)
    assert page.drawn and all(p.xy is not None for p in page.projects)


def test_the_published_map_shades_by_turnout_or_funding(db: Database) -> None:
    r = published_round(db)
    page = db.read_sync(geo_map.round_map, r["round_id"], TODAY, None)
    by_name = {d.name: d for d in page.districts}
    north, south = by_name["North"], by_name["South"]
    assert page.shade is geo_map.Shade.TURNOUT
    assert page.shades == [geo_map.Shade.TURNOUT, geo_map.Shade.FUNDING]
    assert (north.ballots, north.turnout) == (6, 6 / 1000)
    assert (south.ballots, south.turnout) == (3, 3 / 2000)
    assert (north.shade, south.shade) == (5, 2)  # 0.6 % and 0.15 % of a top of 0.6 %
    # Greedy funds what fits: North's projects 1 and 2 (30 000 + 20 000 €), South's 0 and 2
    # (60 000 + 20 000 €), and the city-wide 2 and 1 (20 000 + 30 000 €), which stand in South.
    assert north.funded == 50_000_00 and south.funded == 130_000_00
    funding = db.read_sync(geo_map.round_map, r["round_id"], TODAY, "funding")
    assert funding.shade is geo_map.Shade.FUNDING
    f = {d.name: d for d in funding.districts}
    assert f["North"].per_resident == 5000 and f["South"].per_resident == 6500
    assert (f["North"].shade, f["South"].shade) == (4, 5)
    assert [c.shade for c in funding.legend] == [1, 2, 3, 4, 5]
    assert sum(1 for p in funding.projects if p.funded) == 6


def test_a_draft_round_has_no_map(db: Database) -> None:
    districts = make_districts(db)
    rid = make_round(db, districts, None, phase="draft")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        db.read_sync(geo_map.round_map, rid, TODAY, None)
    assert Phase.DRAFT  # the phase the builder made
