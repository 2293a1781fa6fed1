"""The map: district boundaries (staff upload GeoJSON), project coordinates, and a round's map
with its districts shaded by turnout or by funding per resident.

Figures appear only once a round's results are published (before that the map shows the
districts and the projects on the ballot, nothing counted). Turnout is the ballots cast on a
district's own ballot per resident; funding per resident is the cost of the funded projects of a
district (its own, and city-wide ones placed inside it) over its population.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.errors import NotFound, ValidationError
from pb.geo import geojson, projection
from pb.i18n import gettext as _
from pb.i18n import ngettext
from pb.models import District, Phase, Proposal, ProposalStatus
from pb.services import audit, results, rounds
from pb.tally import PabulibError, loads

CLASSES = 5  # shades in the legend
MAP_WIDTH = 640  # user units: text and points keep a readable size on a phone


class Shade(enum.StrEnum):
    TURNOUT = "turnout"
    FUNDING = "funding"


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


def set_boundaries(
    session: Session,
    actor_id: int | None,
    data: bytes,
    name_property: str,
    district_id: int | None,
) -> list[str]:
    """Store the boundaries of a GeoJSON file, all or none, and return the districts' names.

    With ``district_id`` the file outlines that one district (one feature, or a bare geometry);
    otherwise each feature names its district by ``name_property`` (compared ignoring case and
    surrounding spaces), and every name must be a district's. Raises ValidationError
    (``{"file": message}``) naming the first problem."""
    districts = list(session.scalars(select(District).order_by(District.id)))
    try:
        shapes = geojson.parse(data, None if district_id is not None else name_property)
    except geojson.GeoJSONError as exc:
        raise ValidationError({"file": str(exc)}) from None
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


# ---------------------------------------------------------------------------- the round's map


@dataclass(frozen=True)
class MapDistrict:
    id: int
    name: str
    population: int | None
    path: str  # SVG path data, "" when it has no boundary
    label_xy: tuple[float, float] | None
    ballots: int | None  # on its own ballot (published results only)
    turnout: float | None  # ballots per resident, 0..1
    funded: int | None  # minor units of funded projects in it
    per_resident: float | None  # minor units per resident
    shade: int  # 0: no figure, else 1..CLASSES
    projects: int


@dataclass(frozen=True)
class MapProject:
    number: int  # its label on the map and in the table
    id: int
    title: str
    district: str
    cost: int | None
    funded: bool | None  # None before results
    xy: tuple[float, float] | None  # None: not placed


@dataclass(frozen=True)
class LegendClass:
    shade: int
    low: float
    high: float


@dataclass(frozen=True)
class RoundMap:
    round_id: int
    title: str
    currency: str
    published: bool
    shade: Shade | None  # None: nothing to shade by (before results, or no population)
    shades: list[Shade]  # the choices this round offers
    width: int
    height: int
    districts: list[MapDistrict]
    projects: list[MapProject]
    legend: list[LegendClass]

    @property
    def drawn(self) -> bool:
        return self.height > 0


def _classes(values: list[float]) -> list[LegendClass]:
    top = max(values, default=0.0)
    if top <= 0:
        return []
    return [LegendClass(n, top * (n - 1) / CLASSES, top * n / CLASSES) for n in range(1, 6)]


def _shade_of(value: float | None, top: float) -> int:
    if value is None or top <= 0:
        return 0
    return max(1, min(CLASSES, math.ceil(value / top * CLASSES)))


POINT_RADIUS = 14  # of a project's point, in the map's user units (templates/geo/map.html)


def _spread(points: list[MapProject]) -> list[MapProject]:
    """Projects drawn at the same spot are set around it in a ring, so each point can be seen
    and tapped (the tables keep the true places)."""
    groups: dict[tuple[float, float], list[int]] = {}
    for n, p in enumerate(points):
        if p.xy is not None:
            key = (round(p.xy[0] / POINT_RADIUS), round(p.xy[1] / POINT_RADIUS))
            groups.setdefault(key, []).append(n)
    out = list(points)
    for members in groups.values():
        if len(members) < 2:
            continue
        x0, y0 = points[members[0]].xy or (0.0, 0.0)
        radius = POINT_RADIUS * max(1.2, len(members) / math.pi)
        for k, n in enumerate(members):
            angle = 2 * math.pi * k / len(members) - math.pi / 2
            xy = (round(x0 + radius * math.cos(angle), 1), round(y0 + radius * math.sin(angle), 1))
            out[n] = dataclasses.replace(points[n], xy=xy)
    return out


def round_map(session: Session, round_id: int, today: dt.date, wanted: str | None) -> RoundMap:
    """The map of a round that is not a draft (NotFound otherwise, whoever asks)."""
    rnd = rounds.get_round(session, round_id)
    if rounds.effective_phase(rnd, today) is Phase.DRAFT:
        raise NotFound(f"round {round_id}")
    districts = list(session.scalars(select(District).order_by(District.name)))
    shapes = {d.id: geojson.load_polygons(d.boundary) for d in districts if d.boundary}
    names = {d.id: d.name for d in districts}
    keys = rounds.district_keys(session)
    projects = list(
        session.scalars(
            select(Proposal)
            .where(Proposal.round_id == round_id, Proposal.status == ProposalStatus.ACCEPTED)
            .order_by(Proposal.id)
        )
    )
    result = results.get_result(session, round_id)
    published = result is not None and result.published_at is not None
    turnout: dict[str, int] = {}
    funded_ids: set[int] = set()
    if published and result is not None:
        document = json.loads(result.results)
        for key, outcome in document["districts"].items():
            turnout[key] = outcome["turnout"]["ballots"]
            funded_ids.update(int(i) for i in outcome["selected"])

    def home(p: Proposal) -> int | None:
        """The district a project is in: its own, or for a city-wide one, where it stands."""
        if p.district_id is not None:
            return p.district_id
        if p.latitude is None or p.longitude is None:
            return None
        return next(
            (i for i, s in shapes.items() if projection.contains(s, p.longitude, p.latitude)), None
        )

    homes = {p.id: home(p) for p in projects}
    positions = [(pt[0], pt[1]) for s in shapes.values() for poly in s for pt in poly[0]]
    positions += [
        (p.longitude, p.latitude)
        for p in projects
        if p.latitude is not None and p.longitude is not None
    ]
    frame = projection.fit(positions, width=MAP_WIDTH, max_height=MAP_WIDTH)

    figures: dict[int, dict[str, Any]] = {}
    for d in districts:
        ballots = turnout.get(keys[d.id]) if published and keys[d.id] in turnout else None
        funded = (
            sum(
                p.feasible_cost or 0 for p in projects if p.id in funded_ids and homes[p.id] == d.id
            )
            if published
            else None
        )
        pop = d.population if d.population else None
        figures[d.id] = {
            "ballots": ballots,
            "turnout": ballots / pop if ballots is not None and pop else None,
            "funded": funded,
            "per_resident": funded / pop if funded is not None and pop else None,
        }
    shades = [
        s
        for s, field in ((Shade.TURNOUT, "turnout"), (Shade.FUNDING, "per_resident"))
        if any(f[field] is not None for f in figures.values())
    ]
    shade: Shade | None = None
    if shades:
        shade = Shade(wanted) if wanted in {s.value for s in shades} else shades[0]
    field = "turnout" if shade is Shade.TURNOUT else "per_resident"
    values = [f[field] for f in figures.values() if shade is not None and f[field] is not None]
    legend = _classes(values)
    top = max(values, default=0.0)

    out_districts = []
    for d in districts:
        polygons = shapes.get(d.id)
        path = frame.path(polygons) if frame and polygons else ""
        label = frame.xy(*projection.label_point(polygons)) if frame and polygons else None
        f = figures[d.id]
        out_districts.append(
            MapDistrict(
                d.id,
                d.name,
                d.population,
                path,
                label,
                f["ballots"],
                f["turnout"],
                f["funded"],
                f["per_resident"],
                _shade_of(f[field], top) if shade is not None else 0,
                sum(1 for h in homes.values() if h == d.id),
            )
        )
    out_projects = _spread(
        [
            MapProject(
                n,
                p.id,
                p.title,
                names.get(homes[p.id] or 0, _("City-wide")),
                p.feasible_cost,
                (p.id in funded_ids) if published else None,
                frame.xy(p.longitude, p.latitude)
                if frame and p.latitude is not None and p.longitude is not None
                else None,
            )
            for n, p in enumerate(projects, 1)
        ]
    )
    return RoundMap(
        round_id=rnd.id,
        title=rnd.title,
        currency=rnd.currency,
        published=published,
        shade=shade,
        shades=shades,
        width=frame.width if frame else 0,
        height=frame.height if frame else 0,
        districts=out_districts,
        projects=out_projects,
        legend=legend,
    )
