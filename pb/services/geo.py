"""What the map is drawn from: district boundaries (staff upload GeoJSON), districts' numbers
of residents, and project places (one by one, or from a pabulib file). The round's map itself
is :mod:`pb.services.geo_map`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.errors import NotFound, ValidationError
from pb.geo import geojson
from pb.i18n import gettext as _
from pb.i18n import ngettext
from pb.models import District, Proposal
from pb.services import audit, rounds
from pb.tally import PabulibError, loads


@dataclass(frozen=True)
class DistrictOutline:
    id: int
    name: str
    population: int | None
    points: int  # vertices of its boundary, 0: none uploaded


def outlines(session: Session) -> list[DistrictOutline]:
    rows = session.execute(
        select(District.id, District.name, District.population, District.boundary).order_by(
            District.name
        )
    ).all()
    return [
        DistrictOutline(
            i,
            n,
            p,
            sum(len(r) for poly in geojson.load_polygons(b) for r in poly) if b else 0,
        )
        for i, n, p, b in rows
    ]


def read_boundaries(
    data: bytes, name_property: str, district_id: int | None
) -> list[geojson.Shape]:
    """Parse and check a GeoJSON file (no database: call it before the transaction, off the
    event loop, as a large file takes a moment). Raises ValidationError (``{"file": ...}``)."""
    try:
        return geojson.parse(data, None if district_id is not None else name_property)
    except geojson.GeoJSONError as exc:
        raise ValidationError({"file": str(exc)}) from None


def set_boundaries(
    session: Session,
    actor_id: int | None,
    data: bytes | list[geojson.Shape],
    name_property: str,
    district_id: int | None,
) -> list[str]:
    """Store the boundaries of a GeoJSON file (or of the shapes :func:`read_boundaries` made
    of it), all or none, and return the districts' names.

    With ``district_id`` the file outlines that one district (one feature, or a bare geometry);
    otherwise each feature names its district by ``name_property`` (compared ignoring case and
    surrounding spaces), and every name must be a district's. Raises ValidationError
    (``{"file": message}``) naming the first problem."""
    shapes = read_boundaries(data, name_property, district_id) if isinstance(data, bytes) else data
    districts = list(session.scalars(select(District).order_by(District.id)))
    targets: list[tuple[District, geojson.Shape]] = []
    if district_id is not None:
        district = next((d for d in districts if d.id == district_id), None)
        if district is None:
            raise NotFound(f"district {district_id}")
        if len(shapes) != 1:
            raise ValidationError(
                {
                    "file": ngettext(
                        "The file has %(num)s feature; to outline one district it must have one.",
                        "The file has %(num)s features; to outline one district it must "
                        "have one. To outline several, match them by a property instead.",
                        len(shapes),
                    )
                }
            )
        targets.append((district, shapes[0]))
    else:
        by_name = {d.name.strip().casefold(): d for d in districts}
        seen: set[int] = set()
        for shape in shapes:
            assert shape.name is not None
            found = by_name.get(shape.name.casefold())
            if found is None:
                raise ValidationError(
                    {
                        "file": _(
                            'No district is named "%(name)s". The districts are: %(names)s.',
                            name=shape.name,
                            names=", ".join(d.name for d in districts),
                        )
                    }
                )
            if found.id in seen:
                raise ValidationError(
                    {"file": _('Two features name the district "%(name)s".', name=found.name)}
                )
            seen.add(found.id)
            targets.append((found, shape))
    for district, shape in targets:
        before = {"points": _points(district.boundary)}
        district.boundary = geojson.canonical(shape.polygons)
        audit.record(
            session,
            actor_id,
            "district.boundary",
            f"district:{district.id}",
            before=before,
            after={"points": _points(district.boundary)},
        )
    return [d.name for d, _s in targets]


def _points(boundary: str | None) -> int:
    if boundary is None:
        return 0
    return sum(len(r) for p in geojson.load_polygons(boundary) for r in p)


def clear_boundary(session: Session, actor_id: int | None, district_id: int) -> str:
    district = session.get(District, district_id)
    if district is None:
        raise NotFound(f"district {district_id}")
    before = {"points": _points(district.boundary)}
    district.boundary = None
    audit.record(
        session, actor_id, "district.boundary", f"district:{district_id}", before, {"points": 0}
    )
    return district.name


def set_populations(
    session: Session, actor_id: int | None, populations: dict[int, int | None]
) -> None:
    """Set districts' numbers of residents (None: unknown), which the map divides by."""
    for district in session.scalars(select(District).where(District.id.in_(populations))):
        before = district.population
        district.population = populations[district.id]
        if before != district.population:
            audit.record(
                session,
                actor_id,
                "district.population",
                f"district:{district.id}",
                {"population": before},
                {"population": district.population},
            )


def parse_coordinates(latitude: str, longitude: str) -> tuple[float, float] | None:
    """Both empty: no place (None). Else two decimal numbers in range, or ValidationError.
    A comma is read as a decimal point (as French keyboards type it)."""
    latitude, longitude = latitude.strip(), longitude.strip()
    if not latitude and not longitude:
        return None
    errors: dict[str, str] = {}
    values: list[float] = []
    for name, raw, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        try:
            value = float(raw.replace(",", ".").replace("−", "-"))
        except ValueError:
            value = math.nan
        if not raw:
            errors[name] = _("Give both the latitude and the longitude, or neither.")
        elif not math.isfinite(value) or not -limit <= value <= limit:
            errors[name] = _(
                "Enter a number of degrees between −%(limit)s and %(limit)s, such as 48.8566.",
                limit=limit,
            )
        values.append(value)
    if errors:
        raise ValidationError(errors)
    return round(values[0], 7), round(values[1], 7)


def set_location(
    session: Session, actor_id: int | None, proposal_id: int, place: tuple[float, float] | None
) -> None:
    p = session.get(Proposal, proposal_id)
    if p is None:
        raise NotFound(f"proposal {proposal_id}")
    before = {"latitude": p.latitude, "longitude": p.longitude}
    p.latitude, p.longitude = place if place is not None else (None, None)
    audit.record(
        session,
        actor_id,
        "proposal.location",
        f"proposal:{proposal_id}",
        before,
        {"latitude": p.latitude, "longitude": p.longitude},
    )


def pabulib_coordinates(extra: dict[str, str]) -> tuple[float, float] | None:
    """A project's place from a pabulib file's ``latitude``/``longitude`` columns (the
    ``extra`` of :class:`pb.tally.model.Project`), or None when absent or unreadable."""
    try:
        return parse_coordinates(extra.get("latitude", ""), extra.get("longitude", ""))
    except ValidationError:
        return None


@dataclass(frozen=True)
class PlacesImport:
    placed: int  # projects of the round given a place
    without: int  # rows of the file with no usable latitude/longitude
    unknown: list[str]  # project ids of the file that are not proposals of this round


def places_from_pabulib(
    session: Session, actor_id: int | None, round_id: int, text: str
) -> PlacesImport:
    """Place a round's projects from a pabulib file's ``latitude``/``longitude`` project
    columns (such as the round's own ``.pb`` file from its bundle, with the columns added).
    Project ids are proposal ids. Raises ValidationError naming the problem, changing nothing."""
    try:
        election = loads(text)
    except PabulibError as exc:
        raise ValidationError(
            {"file": _("The file is not a pabulib file: %(problem)s", problem=str(exc))}
        ) from None
    rnd = rounds.get_round(session, round_id)
    proposals = {
        str(p.id): p for p in session.scalars(select(Proposal).where(Proposal.round_id == rnd.id))
    }
    placed = without = 0
    unknown: list[str] = []
    changes: list[tuple[Proposal, tuple[float, float]]] = []
    for project in election.projects:
        place = pabulib_coordinates(dict(project.extra))
        if place is None:
            without += 1
        elif project.id not in proposals:
            unknown.append(project.id)
        else:
            changes.append((proposals[project.id], place))
    for proposal, place in changes:
        set_location(session, actor_id, proposal.id, place)
        placed += 1
    return PlacesImport(placed, without, unknown)
