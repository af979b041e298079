"""What each claimed reminder becomes, decided when it is sent: a message (its words say
the time left as of now) or a skip with the reason (the person submitted, was excused,
left, is away, or a newer reminder says the same); and, for the daily ones, the next.

Everything a batch needs is read in a few queries for the whole batch, not per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cycles.calendar import in_quiet_hours, next_morning, next_quiet_end, remind_later
from bot.services import reminding
from bot.services.replies import Act, Action, Button, Reply
from bot.services.resources import Resources, as_language
from bot.store import reminders as store
from bot.store.models import (
    Cadre,
    Cycle,
    CycleExemption,
    CycleStatus,
    Membership,
    ReminderKind,
    Role,
    Submission,
    Team,
)

# An overdue notice planned this long after the deadline is a daily one, not the first.
_FIRST_NOTICE_WITHIN = timedelta(hours=12)


@dataclass(frozen=True)
class Prepared:
    """A claimed reminder, ready: a message for a chat, or a reason not to send it; and
    the reminder that follows it once it is settled (a daily one), if any."""

    id: int
    chat_id: int = 0
    reply: Reply | None = None
    skip: str | None = None  # why it is not sent
    blocked: bool = False  # the person blocked the bot: given up without a try
    wait_until: datetime | None = None  # not now: quiet hours in the person's zone
    follow: store.Planned | None = None


@dataclass
class _Batch:
    """What the rows of one batch refer to, read once."""

    cycles: dict[int, tuple[Cycle, Team]]
    people: dict[int, Cadre]
    roles: dict[tuple[int, int], Role]  # (team, person) -> current role
    submitted: set[tuple[int, int]]  # (cycle, person)
    exempt: set[tuple[int, int]]
    newest: dict[tuple[int, int], datetime]  # the latest due reminder before the deadline
    progress: dict[int, tuple[int, int]]  # person -> sections done, in all (BEFORE/OVERDUE)


async def prepare(
    session: AsyncSession, res: Resources, rows: Sequence[store.Claimed], now: datetime
) -> list[Prepared]:
    """Each claimed row's message or skip, in the order given."""
    batch = await _read(session, res, rows, now)
    digests: dict[int, reminding.Standing] = {}
    prepared = []
    for row in rows:
        digest = row.kind == ReminderKind.DIGEST
        if digest and row.cycle_id in batch.cycles and row.cycle_id not in digests:
            cycle, team = batch.cycles[row.cycle_id]
            digests[row.cycle_id] = await reminding.standing(session, res, cycle, team, now)
        prepared.append(_prepare(res, batch, digests, row, now))
    return prepared


def _quiet(
    res: Resources, team: Team, person: Cadre, row: store.Claimed, deadline: datetime, now: datetime
) -> tuple[datetime | None, bool]:
    """Whether it is quiet time for the person now: (the morning to wait for, or None;
    whether to send silently instead). A row planned for quiet hours was planned silent;
    one that reaches now late (a restart, retries) is checked here, as it is sent."""
    zone = reminding.person_zone(res, person.timezone, team)
    if row.silent or not in_quiet_hours(now, zone):
        return None, row.silent
    morning = next_quiet_end(now, zone)
    if row.kind == ReminderKind.BEFORE and morning >= deadline:
        return None, True  # the morning would be too late: now, without a sound
    return morning, False


async def _read(
    session: AsyncSession, res: Resources, rows: Sequence[store.Claimed], now: datetime
) -> _Batch:
    cycle_ids = {r.cycle_id for r in rows}
    person_ids = {r.recipient_id for r in rows}
    cycles = {
        cycle.id or 0: (cycle, team)
        for cycle, team in (
            await session.exec(
                select(Cycle, Team)
                .join(Team, col(Team.id) == col(Cycle.team_id))
                .where(col(Cycle.id).in_(cycle_ids))
            )
        ).all()
    }
    people = {
        person.id or 0: person
        for person in (await session.exec(select(Cadre).where(col(Cadre.id).in_(person_ids)))).all()
    }
    team_ids = {team.id for _, team in cycles.values()}
    roles = {
        (team_id, cadre_id): Role(role)
        for team_id, cadre_id, role in (
            await session.exec(
                select(Membership.team_id, Membership.cadre_id, Membership.role).where(
                    col(Membership.team_id).in_(team_ids),
                    col(Membership.cadre_id).in_(person_ids),
                    col(Membership.left_at).is_(None),
                )
            )
        ).all()
    }
    submitted: set[tuple[int, int]] = set()
    for cycle_id, (cycle, _) in cycles.items():
        for cadre_id in (
            await session.exec(
                select(Submission.cadre_id).where(
                    col(Submission.team_id) == cycle.team_id,
                    col(Submission.report_type) == cycle.report_type,
                    col(Submission.period) == cycle.period,
                    col(Submission.cadre_id).in_(person_ids),
                )
            )
        ).all():
            submitted.add((cycle_id, cadre_id))
    exempt = set(
        (
            await session.exec(
                select(CycleExemption.cycle_id, CycleExemption.cadre_id).where(
                    col(CycleExemption.cycle_id).in_(cycle_ids),
                    col(CycleExemption.cadre_id).in_(person_ids),
                )
            )
        ).all()
    )
    asked = [r for r in rows if r.kind != ReminderKind.DIGEST and r.cycle_id in cycles]
    newest = await store.later_due(
        session, pairs=[(r.cycle_id, r.recipient_id) for r in asked], now=now
    )
    wanted = {
        r.recipient_id: (cycles[r.cycle_id][0].report_type, cycles[r.cycle_id][0].period)
        for r in asked
    }
    progress = await reminding.progress(session, res, wanted)
    return _Batch(cycles, people, roles, submitted, exempt, newest, progress)


def _prepare(
    res: Resources,
    batch: _Batch,
    digests: dict[int, reminding.Standing],
    row: store.Claimed,
    now: datetime,
) -> Prepared:
    found = batch.cycles.get(row.cycle_id)
    person = batch.people.get(row.recipient_id)
    if found is None or person is None:
        return Prepared(row.id, skip="gone")
    cycle, team = found
    if cycle.status != CycleStatus.OPEN or cycle.deadline_at is None:
        return Prepared(row.id, skip="closed")
    if person.blocked_at is not None:
        return Prepared(row.id, chat_id=person.chat_id, blocked=True)
    if row.kind == ReminderKind.DIGEST:
        if batch.roles.get((team.id or 0, row.recipient_id)) != Role.SUPERVISOR:
            return Prepared(row.id, skip="not a supervisor")
        morning, _ = _quiet(res, team, person, row, cycle.deadline_at, now)
        if morning is not None:
            return Prepared(row.id, wait_until=morning)
        return _digest(res, cycle, team, person, digests[row.cycle_id], row, now)
    pair = (row.cycle_id, row.recipient_id)
    if batch.roles.get((team.id or 0, row.recipient_id)) != Role.MEMBER:
        return Prepared(row.id, skip="not a member")
    if pair in batch.submitted:
        return Prepared(row.id, skip="submitted")
    if pair in batch.exempt:
        return Prepared(row.id, skip="exempt")
    overdue = row.kind == ReminderKind.OVERDUE
    if overdue and now < cycle.deadline_at:
        return Prepared(row.id, skip="stale: the deadline moved")
    if not overdue:
        if now >= cycle.deadline_at:
            return Prepared(row.id, skip="stale: the deadline passed")
        newest = batch.newest.get(pair)
        if newest is not None and newest > row.planned_at:
            return Prepared(row.id, skip="stale: a newer reminder applies")
    morning, silent = _quiet(res, team, person, row, cycle.deadline_at, now)
    if morning is not None:
        return Prepared(row.id, wait_until=morning)
    follow = _next_overdue(res, cycle, team, person, row, now) if overdue else None
    if person.away_until is not None and person.away_until > now:
        return Prepared(row.id, skip="away", follow=follow)
    progress = batch.progress.get(person.id or 0)
    reply = _reminder(res, cycle, team, person, progress, row, now, silent=silent)
    return Prepared(row.id, chat_id=person.chat_id, reply=reply, follow=follow)


def _reminder(
    res: Resources,
    cycle: Cycle,
    team: Team,
    person: Cadre,
    progress: tuple[int, int] | None,
    row: store.Claimed,
    now: datetime,
    *,
    silent: bool,
) -> Reply:
    assert cycle.deadline_at is not None and cycle.id is not None
    lang = as_language(person.language, res.default_language)
    zone = reminding.person_zone(res, person.timezone, team)
    params: dict[str, str | int] = {
        "title": reminding.title_of(res, lang, cycle),
        "team": team.name,
        "deadline": reminding.moment_text(lang, cycle.deadline_at, zone),
        "progress": reminding.progress_text(res, lang, progress),
    }
    buttons: list[Button] = [reminding.go_button(res, lang, cycle.id, progress)]
    if row.kind == ReminderKind.OVERDUE:
        late = now - cycle.deadline_at
        if row.planned_at - cycle.deadline_at < _FIRST_NOTICE_WITHIN:
            text = res.t(lang, "reminder_overdue", **params)
        else:
            text = res.t(
                lang, "reminder_overdue_again", late=reminding.span_text(lang, late), **params
            )
    else:
        left = reminding.span_text(lang, cycle.deadline_at - now)
        text = res.t(lang, "reminder_before", left=left, **params)
        later = remind_later(
            now=now, deadline=cycle.deadline_at, zone=zone, days_off=reminding.days_off_of(team)
        )
        if later is not None:
            buttons.append(Button(res.raw(lang, "btn_snooze"), Action(Act.SNOOZE, row.id)))
    return Reply(text, (tuple(buttons),), silent=silent)


def _digest(
    res: Resources,
    cycle: Cycle,
    team: Team,
    person: Cadre,
    found: reminding.Standing,
    row: store.Claimed,
    now: datetime,
) -> Prepared:
    assert cycle.deadline_at is not None and cycle.id is not None
    lang = as_language(person.language, res.default_language)
    zone = reminding.person_zone(res, person.timezone, team)
    head = res.t(
        lang,
        "digest",
        title=reminding.title_of(res, lang, cycle),
        team=team.name,
        deadline=reminding.moment_text(lang, cycle.deadline_at, zone),
    )
    text = "\n".join([head, *reminding.standing_lines(res, lang, found)])
    button = Button(res.raw(lang, "btn_cycle_page"), Action(Act.CYCLE, cycle.id))
    follow = None
    if found.outstanding:
        at = next_morning(after=now, zone=zone, days_off=reminding.days_off_of(team))
        follow = store.Planned(cycle.id, row.recipient_id, ReminderKind.DIGEST, "daily", at, at)
    return Prepared(row.id, chat_id=person.chat_id, reply=Reply(text, ((button,),)), follow=follow)


def _next_overdue(
    res: Resources, cycle: Cycle, team: Team, person: Cadre, row: store.Claimed, now: datetime
) -> store.Planned | None:
    """Tomorrow morning's overdue reminder, if the team wants daily ones."""
    if not team.overdue_daily or cycle.id is None:
        return None
    zone = reminding.person_zone(res, person.timezone, team)
    at = next_morning(after=now, zone=zone, days_off=reminding.days_off_of(team))
    return store.Planned(cycle.id, row.recipient_id, ReminderKind.OVERDUE, "daily", at, at)
