"""Social impact: the town's indicator catalogue, each project's indicators and measurements,
and a round's impact (summable indicators summed, each project's progress to its target).

Values are whole numbers of their unit. An indicator's *current* value is its latest
measurement (by date, then by entry); a catalogue indicator whose source is
``time_pledges`` ("volunteer hours") on a crowdfunded project counts, until someone measures it,
the hours volunteers gave on the campaign's tasks (attendance confirmed by staff). Progress to
target is (current − baseline) / (target − baseline), floored to a whole percent within 0–100.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    Indicator,
    Measurement,
    ProjectIndicator,
    Round,
    RoundResult,
    TaskSignup,
    TrackedProject,
    VolunteerTask,
)
from pb.services import audit
from pb.services.tracking import follow
from pb.services.tracking.projects import Editor, Mailing, _editable

TIME_PLEDGES = "time_pledges"


def ensure_catalogue(session: Session) -> None:
    """Give an empty catalogue the usual indicators (names in the current language)."""
    if session.scalar(select(func.count()).select_from(Indicator)):
        return
    now = clock.now()
    for name, unit, source in (
        (_("People reached"), _("people"), None),
        (_("Volunteer hours"), _("hours"), TIME_PLEDGES),
        (_("Trees planted"), _("trees"), None),
        (_("Area renovated"), _("m²"), None),
        (_("Events held"), _("events"), None),
    ):
        session.add(Indicator(name=name, unit=unit, summable=True, source=source, created_at=now))


def catalogue(session: Session) -> list[Indicator]:
    return list(session.scalars(select(Indicator).order_by(Indicator.name)))


def _check_indicator(name: str, unit: str) -> dict[str, str]:
    errors = {}
    if not name:
        errors["name"] = _("Name the indicator.")
    if not unit:
        errors["unit"] = _("Give its unit, for example people or m².")
    return errors


def save_indicator(
    session: Session,
    actor_id: int,
    indicator_id: int | None,
    name: str,
    unit: str,
    summable: bool,
) -> Indicator:
    """Add a catalogue indicator (``indicator_id`` None) or change one."""
    name, unit = name.strip()[:120], unit.strip()[:40]
    errors = _check_indicator(name, unit)
    clash = session.scalar(select(Indicator.id).where(Indicator.name == name))
    if clash is not None and clash != indicator_id:
        errors["name"] = _("The catalogue already has an indicator with this name.")
    if errors:
        raise ValidationError(errors)
    if indicator_id is None:
        indicator = Indicator(name=name, unit=unit, summable=summable, created_at=clock.now())
        session.add(indicator)
        before = None
    else:
        found = session.get(Indicator, indicator_id)
        if found is None:
            raise NotFound(f"indicator {indicator_id}")
        indicator = found
        before = {"name": indicator.name, "unit": indicator.unit, "summable": indicator.summable}
        indicator.name, indicator.unit, indicator.summable = name, unit, summable
    session.flush()
    after = {"name": name, "unit": unit, "summable": summable}
    audit.record(session, actor_id, "indicator.save", f"indicator:{indicator.id}", before, after)
    return indicator


def delete_indicator(session: Session, actor_id: int, indicator_id: int) -> None:
    """Remove an indicator no project uses."""
    indicator = session.get(Indicator, indicator_id)
    if indicator is None:
        raise NotFound(f"indicator {indicator_id}")
    used = session.scalar(
        select(func.count())
        .select_from(ProjectIndicator)
        .where(ProjectIndicator.indicator_id == indicator_id)
    )
    if used:
        raise ValidationError({"": _("Projects measure this indicator: it cannot be removed.")})
    audit.record(
        session, actor_id, "indicator.delete", f"indicator:{indicator_id}",
        {"name": indicator.name}, None,
    )  # fmt: skip
    session.delete(indicator)


def add_project_indicator(
    session: Session,
    editor: Editor,
    project_id: int,
    indicator_id: int | None,
    name: str,
    unit: str,
    baseline: int,
    target: int,
) -> ProjectIndicator:
    """Measure a catalogue indicator (``indicator_id``) or the project's own (name, unit)."""
    project = _editable(session, editor, project_id)
    name, unit = name.strip()[:120], unit.strip()[:40]
    errors: dict[str, str] = {}
    if indicator_id is not None:
        indicator = session.get(Indicator, indicator_id)
        if indicator is None:
            raise NotFound(f"indicator {indicator_id}")
        name, unit = "", indicator.unit
    else:
        errors = _check_indicator(name, unit)
    if errors:
        raise ValidationError(errors)
    row = ProjectIndicator(
        project_id=project.id,
        indicator_id=indicator_id,
        name=name,
        unit=unit,
        baseline=baseline,
        target=target,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, editor.user_id, "project.indicator", f"project:{project.id}", None,
        {"indicator": row.id, "catalogue": indicator_id, "name": name, "unit": unit,
         "baseline": baseline, "target": target},
    )  # fmt: skip
    return row


def add_measurement(
    session: Session,
    editor: Editor,
    project_indicator_id: int,
    measured_on: dt.date,
    value: int,
    source: str,
    today: dt.date,
    mailing: Mailing,
) -> None:
    """Record a dated value of a project's indicator, and announce it to the project's
    followers as an update (one mail each, like every other update)."""
    row = session.get(ProjectIndicator, project_indicator_id)
    if row is None:
        raise NotFound(f"project indicator {project_indicator_id}")
    project = _editable(session, editor, row.project_id)
    source = source.strip()[:200]
    errors = {}
    if measured_on > today:
        errors["measured_on"] = _("A measurement is dated today or earlier.")
    if not source:
        errors["source"] = _("Say where the figure comes from.")
    if errors:
        raise ValidationError(errors)
    session.add(
        Measurement(
            project_indicator_id=row.id,
            measured_on=measured_on,
            value=value,
            source=source,
            created_at=clock.now(),
        )
    )
    project.updated_at = clock.now()
    audit.record(
        session, editor.user_id, "project.measurement", f"project:{project.id}", None,
        {"indicator": row.id, "measured_on": measured_on.isoformat(), "value": value,
         "source": source},
    )  # fmt: skip
    indicator = session.get(Indicator, row.indicator_id) if row.indicator_id else None
    follow.announce(
        session,
        project,
        "measurement",
        {
            "indicator": indicator.name if indicator else row.name,
            "unit": indicator.unit if indicator else row.unit,
            "value": value,
            "target": row.target,
            "measured_on": measured_on.isoformat(),
            "source": source,
        },
        "",
        mailing,
    )


@dataclass(frozen=True)
class MeasurementView:
    measured_on: dt.date | None  # None: computed from volunteer tasks
    value: int
    source: str  # "" for the computed value


@dataclass(frozen=True)
class IndicatorView:
    id: int
    catalogue_id: int | None
    name: str
    unit: str
    summable: bool  # a catalogue indicator the town sums across projects
    baseline: int
    target: int
    current: int
    measurements: list[MeasurementView]

    @property
    def percent(self) -> int:
        """Progress from baseline to target, 0–100."""
        if self.target == self.baseline:
            return 100 if self.current >= self.target else 0
        share = (self.current - self.baseline) * 100 // (self.target - self.baseline)
        return max(0, min(100, share))


def volunteer_hours(session: Session, campaign_id: int) -> int:
    """Whole hours given on a campaign's volunteer tasks (confirmed attendance)."""
    minutes = session.scalar(
        select(func.coalesce(func.sum(TaskSignup.minutes_given), 0))
        .join(VolunteerTask, VolunteerTask.id == TaskSignup.task_id)
        .where(VolunteerTask.campaign_id == campaign_id, TaskSignup.attended.is_(True))
    )
    return int(minutes or 0) // 60


def indicators_of(
    session: Session, projects: list[TrackedProject]
) -> dict[int, list[IndicatorView]]:
    """Each project's indicators with their measurements, in two queries."""
    ids = [p.id for p in projects]
    out: dict[int, list[IndicatorView]] = {pid: [] for pid in ids}
    if not ids:
        return out
    rows = session.execute(
        select(ProjectIndicator, Indicator)
        .outerjoin(Indicator, Indicator.id == ProjectIndicator.indicator_id)
        .where(ProjectIndicator.project_id.in_(ids))
        .order_by(ProjectIndicator.id)
    ).all()
    measured: dict[int, list[MeasurementView]] = {}
    for m in session.scalars(
        select(Measurement)
        .where(Measurement.project_indicator_id.in_([r.id for r, _i in rows] or [0]))
        .order_by(Measurement.measured_on, Measurement.id)
    ):
        measured.setdefault(m.project_indicator_id, []).append(
            MeasurementView(m.measured_on, m.value, m.source)
        )
    campaigns = {p.id: p.campaign_id for p in projects}
    for row, indicator in rows:
        measurements = measured.get(row.id, [])
        current = measurements[-1].value if measurements else row.baseline
        campaign_id = campaigns.get(row.project_id)
        if indicator is not None and indicator.source == TIME_PLEDGES and campaign_id:
            hours = volunteer_hours(session, campaign_id)
            measurements = [*measurements, MeasurementView(None, hours, "")]
            if len(measurements) == 1:
                current = hours
        out[row.project_id].append(
            IndicatorView(
                id=row.id,
                catalogue_id=row.indicator_id,
                name=indicator.name if indicator else row.name,
                unit=indicator.unit if indicator else row.unit,
                summable=bool(indicator and indicator.summable),
                baseline=row.baseline,
                target=row.target,
                current=current,
                measurements=measurements,
            )
        )
    return out


@dataclass(frozen=True)
class ImpactTotal:
    name: str
    unit: str
    current: int  # Σ (current − baseline): what the projects added
    target: int  # Σ (target − baseline)
    projects: int

    @property
    def percent(self) -> int:
        if self.target <= 0:
            return 100 if self.current > 0 else 0
        return max(0, min(100, self.current * 100 // self.target))


@dataclass(frozen=True)
class ProjectImpact:
    id: int
    title: str
    indicators: list[IndicatorView]


@dataclass(frozen=True)
class RoundImpact:
    round_id: int
    title: str
    totals: list[ImpactTotal]
    projects: list[ProjectImpact]


def published_round_projects(
    session: Session, round_id: int, what: str
) -> tuple[Round, list[TrackedProject]]:
    """A round whose results are published and its funded projects, by title; :class:`NotFound`
    (naming ``what`` was asked) before publication: nothing of it is public then."""
    rnd = session.get(Round, round_id)
    result = session.get(RoundResult, round_id)
    if rnd is None or result is None or result.published_at is None:
        raise NotFound(f"{what} {round_id}")
    projects = list(
        session.scalars(
            select(TrackedProject)
            .where(TrackedProject.round_id == round_id)
            .order_by(TrackedProject.title, TrackedProject.id)
        )
    )
    return rnd, projects


def round_impact(session: Session, round_id: int) -> RoundImpact:
    """The impact of a round's funded projects; :class:`NotFound` before results are published
    (there is nothing public to measure then)."""
    rnd, projects = published_round_projects(session, round_id, "impact")
    views = indicators_of(session, projects)
    sums: dict[int, list[int]] = {}
    names: dict[int, tuple[str, str]] = {}
    for indicators in views.values():
        for v in indicators:
            if v.summable and v.catalogue_id is not None:
                total = sums.setdefault(v.catalogue_id, [0, 0, 0])
                total[0] += v.current - v.baseline
                total[1] += v.target - v.baseline
                total[2] += 1
                names[v.catalogue_id] = (v.name, v.unit)
    totals = sorted(
        (ImpactTotal(names[k][0], names[k][1], s[0], s[1], s[2]) for k, s in sums.items()),
        key=lambda t: t.name,
    )
    return RoundImpact(
        round_id,
        rnd.title,
        totals,
        [ProjectImpact(p.id, p.title, views[p.id]) for p in projects if views[p.id]],
    )
