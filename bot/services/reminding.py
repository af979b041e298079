"""Reminders of a reporting cycle: who gets which at what moment (planning), where a
cycle's members stand (for digests, the cycle's page and /deadlines), and the words of
each message, written when it is sent so that the time left is true then."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cycles.calendar import (
    DaysOff,
    calendar_knows,
    plan_after_deadline,
    plan_reminders,
)
from bot.cycles.when import Offset, zone_label
from bot.interview.questionnaire import Questionnaire
from bot.render.messages import escape
from bot.services.board import load_board, sections_done
from bot.services.loading import asked_with
from bot.services.replies import Act, Action, Button, series
from bot.services.resources import Resources, as_language
from bot.store import reminders as store
from bot.store.models import (
    Cadre,
    Cycle,
    CycleExemption,
    Interview,
    InterviewStatus,
    Membership,
    Reminder,
    ReminderKind,
    ReminderState,
    Role,
    Submission,
    Team,
)

NAMES_SHOWN = 20  # names listed per line of a digest; the rest are counted


def zone_named(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    """The zone of a stored name; the fallback for none or one this machine lacks."""
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def team_zone(res: Resources, team: Team) -> ZoneInfo:
    """The zone a team's deadlines are set and shown in."""
    return zone_named(team.timezone, res.zone)


def person_zone(res: Resources, person_zone_name: str | None, team: Team) -> ZoneInfo:
    """A person's own zone, or their team's."""
    return zone_named(person_zone_name, team_zone(res, team))


def days_off_of(team: Team) -> DaysOff:
    """The team's days off (the statutory calendar for a value this version lacks)."""
    try:
        return DaysOff(team.days_off)
    except ValueError:
        return DaysOff.STATUTORY


def offsets_of(cycle: Cycle) -> list[Offset]:
    """The cycle's reminder offsets (labels this version cannot read are left out)."""
    found: list[Offset] = []
    for label in cycle.offsets:
        try:
            found.append(Offset.from_label(label))
        except ValueError:
            continue
    return found


# Planning ---------------------------------------------------------------------------------


def plan_member(
    res: Resources,
    cycle: Cycle,
    team: Team,
    members: Iterable[tuple[int, str | None]],
    now: datetime,
) -> list[store.Planned]:
    """Rows for members (id, own zone name): a reminder per offset still ahead, and the
    overdue notice at the deadline. One plan per zone, shared by everyone in it."""
    assert cycle.id is not None and cycle.deadline_at is not None
    offsets = offsets_of(cycle)
    days_off = days_off_of(team)
    plans: dict[str, list[store.Planned]] = {}
    rows: list[store.Planned] = []
    for member_id, zone_name in members:
        zone = person_zone(res, zone_name, team)
        plan = plans.get(zone.key)
        if plan is None:
            plan = plans[zone.key] = _plan(cycle, offsets, zone, days_off, now)
        rows += [_for(p, member_id) for p in plan]
    return rows


def _plan(
    cycle: Cycle, offsets: Sequence[Offset], zone: ZoneInfo, days_off: DaysOff, now: datetime
) -> list[store.Planned]:
    assert cycle.id is not None and cycle.deadline_at is not None
    before = plan_reminders(
        deadline=cycle.deadline_at, offsets=offsets, zone=zone, days_off=days_off, now=now
    )
    rows = [
        store.Planned(
            cycle.id, 0, ReminderKind.BEFORE, p.label, p.planned_at, p.not_before, p.silent
        )
        for p in before
    ]
    due = plan_after_deadline(deadline=cycle.deadline_at, zone=zone)
    rows.append(
        store.Planned(cycle.id, 0, ReminderKind.OVERDUE, due.label, due.planned_at, due.not_before)
    )
    return rows


def _for(planned: store.Planned, recipient_id: int) -> store.Planned:
    return store.Planned(
        planned.cycle_id,
        recipient_id,
        planned.kind,
        planned.label,
        planned.planned_at,
        planned.not_before,
        planned.silent,
    )


def plan_digests(
    res: Resources, cycle: Cycle, team: Team, supervisors: Iterable[tuple[int, str | None]]
) -> list[store.Planned]:
    """A digest for each supervisor at the deadline (or the morning after it)."""
    assert cycle.id is not None and cycle.deadline_at is not None
    rows = []
    for supervisor_id, zone_name in supervisors:
        due = plan_after_deadline(
            deadline=cycle.deadline_at, zone=person_zone(res, zone_name, team)
        )
        rows.append(
            store.Planned(
                cycle.id,
                supervisor_id,
                ReminderKind.DIGEST,
                due.label,
                due.planned_at,
                due.not_before,
            )
        )
    return rows


def unknown_years(cycle: Cycle, team: Team, now: datetime) -> list[int]:
    """Years between now and the deadline whose public holidays the calendar does not
    know (weekends only are avoided then)."""
    if cycle.deadline_at is None or days_off_of(team) is not DaysOff.STATUTORY:
        return []
    years = range(now.year, cycle.deadline_at.year + 1)
    return [year for year in years if not calendar_knows(DaysOff.STATUTORY, year)][:2]


async def people(session: AsyncSession, team_id: int, role: Role) -> list[tuple[int, str | None]]:
    """Current members (or supervisors) of a team: (id, own zone name)."""
    rows = (
        await session.exec(
            select(Cadre.id, Cadre.timezone)
            .join(Membership, col(Membership.cadre_id) == col(Cadre.id))
            .where(
                col(Membership.team_id) == team_id,
                col(Membership.role) == role,
                col(Membership.left_at).is_(None),
            )
        )
    ).all()
    return [(int(cadre_id or 0), zone) for cadre_id, zone in rows]


async def plan_cycle(
    session: AsyncSession,
    res: Resources,
    cycle: Cycle,
    team: Team,
    now: datetime,
    *,
    only: Mapping[int, str | None] | None = None,
) -> int:
    """Plan the rows of an open cycle: its members' who have neither submitted nor been
    exempted, and the supervisors' digests; or only the members in `only` (id → their
    zone as it is about to be written, which the database may not say yet). Returns how
    many members were planned for."""
    assert cycle.id is not None and team.id is not None
    for member_id in only or ():
        # Their rows still to send are replaced, never doubled (a member who left and
        # came back, a new zone).
        await store.skip_pending(
            session,
            cycle_id=cycle.id,
            recipient_id=member_id,
            kinds=(ReminderKind.BEFORE, ReminderKind.OVERDUE),
            reason="replanned",
        )
    members = await people(session, team.id, Role.MEMBER)
    done = await settled(session, cycle)
    chosen = [
        (m, z if only is None else only[m])
        for m, z in members
        if m not in done and (only is None or m in only)
    ]
    await store.add(session, plan_member(res, cycle, team, chosen, now))
    if only is None:
        supervisors = await people(session, team.id, Role.SUPERVISOR)
        await store.add(session, plan_digests(res, cycle, team, supervisors))
    return len(chosen)


async def settled(session: AsyncSession, cycle: Cycle) -> set[int]:
    """Members a cycle asks nothing more of: submitted, or exempted."""
    submitted = (
        await session.exec(
            select(Submission.cadre_id).where(
                col(Submission.team_id) == cycle.team_id,
                col(Submission.report_type) == cycle.report_type,
                col(Submission.period) == cycle.period,
            )
        )
    ).all()
    exempt = (
        await session.exec(
            select(CycleExemption.cadre_id).where(col(CycleExemption.cycle_id) == cycle.id)
        )
    ).all()
    return set(submitted) | set(exempt)


async def replan(
    session: AsyncSession, res: Resources, cycle: Cycle, team: Team, now: datetime
) -> int:
    """The deadline, the offsets or the team's calendar changed: rows still to send are
    replaced by a new plan. Past the deadline nothing is planned again (the overdue
    notices and digests have gone, and their daily successors stand)."""
    assert cycle.id is not None
    if cycle.deadline_at is None or cycle.deadline_at <= now:
        return 0
    await store.skip_pending(session, cycle_id=cycle.id, reason="replanned")
    return await plan_cycle(session, res, cycle, team, now)


# Where members stand ----------------------------------------------------------------------


@dataclass
class Standing:
    """Where a cycle's members stand, as names per group (disjoint groups)."""

    on_time: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    away: list[str] = field(default_factory=list)
    exempt: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)  # a reminder perhaps not delivered

    @property
    def outstanding(self) -> int:
        """Members still expected to submit (missing, away or unreachable)."""
        return len(self.missing) + len(self.away) + len(self.unreachable)


async def standing(
    session: AsyncSession, res: Resources, cycle: Cycle, team: Team, now: datetime
) -> Standing:
    """Every current member's group for the cycle (former members who submitted count)."""
    assert cycle.id is not None
    board = await load_board(session, res, team, cycle.report_type, cycle.period)
    first_sent = dict(
        (
            await session.exec(
                select(Submission.cadre_id, Submission.created_at).where(
                    col(Submission.team_id) == cycle.team_id,
                    col(Submission.report_type) == cycle.report_type,
                    col(Submission.period) == cycle.period,
                )
            )
        ).all()
    )
    exempt = set(
        (
            await session.exec(
                select(CycleExemption.cadre_id).where(col(CycleExemption.cycle_id) == cycle.id)
            )
        ).all()
    )
    ids = [row.cadre_id for row in board.rows]
    away = set(
        (
            await session.exec(
                select(Cadre.id).where(
                    col(Cadre.id).in_(ids),
                    col(Cadre.away_until).is_not(None),
                    col(Cadre.away_until) > now,
                )
            )
        ).all()
    )
    uncertain = set(
        (
            await session.exec(
                select(Reminder.recipient_id).where(
                    col(Reminder.cycle_id) == cycle.id,
                    col(Reminder.state) == ReminderState.UNCERTAIN,
                )
            )
        ).all()
    )
    found = Standing()
    for row in board.rows:
        sent_at = first_sent.get(row.cadre_id)
        if sent_at is not None:
            late = cycle.deadline_at is not None and sent_at > cycle.deadline_at
            (found.late if late else found.on_time).append(row.name)
        elif row.former:
            continue
        elif row.cadre_id in exempt:
            found.exempt.append(row.name)
        elif row.unreachable:
            found.unreachable.append(row.name)
        elif row.cadre_id in away:
            found.away.append(row.name)
        else:
            found.missing.append(row.name)
        if sent_at is None and row.cadre_id in uncertain and not row.former:
            found.uncertain.append(row.name)
    return found


def standing_lines(res: Resources, lang: str, found: Standing) -> list[str]:
    """The groups as lines: counts, and names where someone is to act on them."""

    def names(people: list[str]) -> str:
        # Shortened before escaping, so that no entity is cut in half.
        shown = escape(series(lang, people[:NAMES_SHOWN], width=12))
        more = len(people) - NAMES_SHOWN
        return shown + (res.t(lang, "names_more", count=more) if more > 0 else "")

    lines = [
        res.t(
            lang,
            "cycle_counts",
            on_time=len(found.on_time),
            late=len(found.late),
            missing=len(found.missing) + len(found.unreachable),
            away=len(found.away),
            exempt=len(found.exempt),
        )
    ]
    groups = (
        ("cycle_missing", found.missing),
        ("cycle_late", found.late),
        ("cycle_away", found.away),
        ("cycle_exempt", found.exempt),
        ("cycle_unreachable", found.unreachable),
        ("cycle_uncertain", found.uncertain),
    )
    lines += [res.raw(lang, key, names=names(group)) for key, group in groups if group]
    return lines


# Progress of one person -------------------------------------------------------------------


async def progress(
    session: AsyncSession, res: Resources, wanted: dict[int, tuple[str, str]]
) -> dict[int, tuple[int, int]]:
    """For people (id → report type and period): sections done and sections in all, of
    their newest interview of that type and period. Absent: not started."""
    if not wanted:
        return {}
    statement = (
        select_columns(
            col(Interview.id),
            col(Interview.cadre_id),
            col(Interview.language),
            col(Interview.skipped),
            col(Interview.report_type),
            col(Interview.period),
            col(Interview.status),
            col(Interview.questionnaire_version),
        )
        .where(
            col(Interview.cadre_id).in_(list(wanted)),
            col(Interview.status) != InterviewStatus.ABANDONED,
        )
        .order_by(col(Interview.id))
    )
    interviews: dict[int, tuple[int, Questionnaire, list[str]]] = {}
    for interview_id, cadre_id, language, skipped, report_type, period, status, version in (
        await (await session.connection()).execute(statement)
    ).all():
        if wanted.get(cadre_id) == (report_type, period):
            questionnaire = asked_with(
                res, report_type=report_type, language=language, status=status, version=version
            )
            interviews[cadre_id] = (int(interview_id or 0), questionnaire, list(skipped or []))
    done = await sections_done(session, interviews)
    return {
        cadre_id: (done.get(cadre_id, 0), len(questionnaire.sections))
        for cadre_id, (_, questionnaire, _) in interviews.items()
    }


# Words ------------------------------------------------------------------------------------

_WEEKDAYS = {
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_ZONE_NAMES = {"zh": {"Asia/Shanghai": "北京时间"}, "en": {}}


def moment_text(lang: str, moment: datetime, zone: ZoneInfo) -> str:
    """A moment as people read it, with its weekday and zone."""
    local = moment.astimezone(zone)
    weekday = _WEEKDAYS.get(lang, _WEEKDAYS["en"])[local.weekday()]
    zone_name = _ZONE_NAMES.get(lang, {}).get(zone.key, zone_label(zone))
    if lang == "zh":
        return (
            f"{local.year}年{local.month}月{local.day}日（{weekday}）{local:%H:%M}（{zone_name}）"
        )
    return f"{weekday} {local.day} {local:%B %Y}, {local:%H:%M} ({zone_name})"


def report_name(res: Resources, lang: str, report_type: str) -> str:
    """A report type's name in a language (its id if this version lacks it)."""
    try:
        return res.catalogue.get(report_type, as_language(lang, res.default_language)).name
    except KeyError:
        return report_type


def title_of(res: Resources, lang: str, cycle: Cycle) -> str:
    """A cycle's title in the reader's language: its report and period."""
    if not cycle.report_type:
        return cycle.title
    return res.raw(
        lang, "cycle_title", period=cycle.period, report=report_name(res, lang, cycle.report_type)
    )


def span_text(lang: str, span: timedelta) -> str:
    """A length of time, to the minute for under an hour, else days and hours."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if lang == "zh":
        if days:
            return f"{days}天" + (f"{hours}小时" if hours else "")
        if hours:
            return f"{hours}小时" + (f"{minutes}分钟" if minutes and hours < 3 else "")
        return f"{max(minutes, 1)}分钟"

    def unit(count: int, word: str) -> str:
        return f"{count} {word}" + ("" if count == 1 else "s")

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (
            f" {unit(minutes, 'minute')}" if minutes and hours < 3 else ""
        )
    return unit(max(minutes, 1), "minute")


def left_text(res: Resources, lang: str, deadline: datetime, now: datetime) -> str:
    """Time left until a deadline, or that it has passed."""
    if deadline <= now:
        return res.raw(lang, "cycle_past")
    return span_text(lang, deadline - now)


def progress_text(res: Resources, lang: str, found: tuple[int, int] | None) -> str:
    """How far a person is: sections done, or not started."""
    if found is None:
        return res.t(lang, "reminder_not_started")
    done, total = found
    if total and done >= total:
        return res.t(lang, "reminder_all_done")
    return res.t(lang, "reminder_progress", done=done, total=total)


def go_button(res: Resources, lang: str, cycle_id: int, found: tuple[int, int] | None) -> Button:
    """Start or continue the cycle's interview."""
    key = "btn_cycle_start" if found is None else "btn_cycle_continue"
    return Button(res.raw(lang, key), Action(Act.CYCLE_GO, cycle_id))
