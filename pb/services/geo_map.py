"""A round's map: its districts shaded by turnout or by funding per resident, and its projects
as points (the data that ``templates/geo/map.html`` draws).

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

from pb.errors import NotFound
from pb.geo import geojson, projection
from pb.i18n import gettext as _
from pb.models import District, Phase, Proposal, ProposalStatus
from pb.services import results, rounds
from pb.services.tracking.public import card_ids

CLASSES = 5  # shades in the legend
MAP_WIDTH = 640  # user units: text and points keep a readable size on a phone


class Shade(enum.StrEnum):
    TURNOUT = "turnout"
    FUNDING = "funding"


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
    card: int | None = None  # a funded project's card (/projects/<id>), where it links to


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


POINT_RADIUS = 24  # of a project's point, in the map's user units (templates/geo/map.html):
# 640 units drawn 328 px wide on a phone make it a 24 px target


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
    cards = card_ids(session, round_id) if published else {}
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
                cards.get(str(p.id)),
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
