"""Reporting cycles, the member's side: /deadlines (and a supervisor's overview of their
cycles), the cycle's button that starts or continues its interview, "remind me later",
/timezone and /away."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cycles.calendar import remind_later
from bot.cycles.when import Unreadable, read_moment, read_zone, zone_label
from bot.services import cycles, reminding
from bot.services.access import refused
from bot.services.replies import Act, Action, Button, Reply
from bot.services.resources import Resources, as_language
from bot.store import reminders as reminder_store
from bot.store import teams as team_store
from bot.store.models import (
    Cadre,
    Cycle,
    CycleExemption,
    CycleStatus,
    Membership,
    Reminder,
    ReminderKind,
    Role,
    Submission,
    Team,
)
from bot.store.outbox import enqueue

CYCLES_LISTED = 8  # open cycles listed (and buttons): more would not fit one message


def _t(res: Resources, cadre: Cadre, key: str, /, **params: str | int) -> str:
    return res.t(cadre.language, key, **params)


def _id(row: Cadre | Team | Cycle) -> int:
    assert row.id is not None
    return row.id


async def member_cycle(
    session: AsyncSession, cadre: Cadre, cycle_id: int
) -> tuple[Cycle, Team] | None:
    """The cycle, if the person is a current member of its team and it has been opened."""
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None or cycle.status == CycleStatus.DRAFT:
        return None
    membership = await team_store.membership(
        session=session, team_id=cycle.team_id, cadre_id=_id(cadre)
    )
    if membership is None or membership.left_at is not None or membership.role != Role.MEMBER:
        return None
    team = await session.get(Team, cycle.team_id)
    return None if team is None else (cycle, team)


def zone_of(res: Resources, cadre: Cadre, team: Team | None) -> ZoneInfo:
    """The zone a person reads times in: their own, their team's, or the default."""
    if team is not None:
        return reminding.person_zone(res, cadre.timezone, team)
    return reminding.zone_named(cadre.timezone, res.zone)


async def cycle_period(session: AsyncSession, cadre: Cadre, report_type: str) -> str | None:
    """The period of an open cycle of one of the person's teams for this report type
    (the earliest deadline first): an interview begun for that report is for it."""
    statement = (
        select(Cycle.period)
        .join(Membership, col(Membership.team_id) == col(Cycle.team_id))
        .where(
            col(Membership.cadre_id) == cadre.id,
            col(Membership.role) == Role.MEMBER,
            col(Membership.left_at).is_(None),
            col(Cycle.status) == CycleStatus.OPEN,
            col(Cycle.report_type) == report_type,
        )
        .order_by(col(Cycle.deadline_at))
    )
    return (await session.exec(statement)).first()


# /deadlines -------------------------------------------------------------------------------


async def overview(
    session: AsyncSession, res: Resources, cadre: Cadre, now: datetime
) -> list[Reply]:
    """Open cycles: as a member, each deadline and where the person stands; as a
    supervisor, each cycle's counts and who is missing."""
    replies: list[Reply] = []
    mine = await _member_lines(session, res, cadre, now)
    if mine:
        replies.append(mine)
    replies += await _supervisor_lines(session, res, cadre, now)
    if not replies:
        return [Reply(_t(res, cadre, "deadlines_none"))]
    return replies


async def _member_lines(
    session: AsyncSession, res: Resources, cadre: Cadre, now: datetime
) -> Reply | None:
    rows = (
        await session.exec(
            select(Cycle, Team)
            .join(Team, col(Team.id) == col(Cycle.team_id))
            .join(Membership, col(Membership.team_id) == col(Team.id))
            .where(
                col(Membership.cadre_id) == cadre.id,
                col(Membership.role) == Role.MEMBER,
                col(Membership.left_at).is_(None),
                col(Cycle.status) == CycleStatus.OPEN,
            )
            .order_by(col(Cycle.deadline_at))
            .limit(CYCLES_LISTED)
        )
    ).all()
    if not rows:
        return None
    lang = as_language(cadre.language, res.default_language)
    submitted = {
        (team_id, report_type, period): created
        for team_id, report_type, period, created in (
            await session.exec(
                select(
                    Submission.team_id,
                    Submission.report_type,
                    Submission.period,
                    Submission.created_at,
                ).where(col(Submission.cadre_id) == cadre.id)
            )
        ).all()
    }
    excused = set(
        (
            await session.exec(
                select(CycleExemption.cycle_id).where(col(CycleExemption.cadre_id) == cadre.id)
            )
        ).all()
    )
    wanted = {_id(cadre): (c.report_type, c.period) for c, _ in rows}
    lines = [_t(res, cadre, "deadlines_header")]
    buttons: list[tuple[Button, ...]] = []
    for cycle, team in rows:
        assert cycle.deadline_at is not None
        zone = zone_of(res, cadre, team)
        sent = submitted.get((_id(team), cycle.report_type, cycle.period))
        if sent is not None:
            key = "deadline_state_late" if sent > cycle.deadline_at else "deadline_state_done"
            state = res.raw(lang, key)
        elif cycle.id in excused:
            state = res.raw(lang, "deadline_state_exempt")
        else:
            wanted = {_id(cadre): (cycle.report_type, cycle.period)}
            found = (await reminding.progress(session, res, wanted)).get(_id(cadre))
            state = reminding.progress_text(res, lang, found)
            go = reminding.go_button(res, lang, _id(cycle), found)
            # Several cycles: each button says whose it is.
            title = reminding.title_of(res, lang, cycle)
            buttons.append((Button(f"{go.label} · {title[:30]}", go.action),))
        lines.append(
            _t(
                res,
                cadre,
                "deadlines_line",
                title=reminding.title_of(res, lang, cycle),
                team=team.name,
                deadline=reminding.moment_text(lang, cycle.deadline_at, zone),
                left=reminding.left_text(res, lang, cycle.deadline_at, now),
                state=state,
            )
        )
    del wanted
    return Reply("\n\n".join(lines), tuple(buttons))


async def _supervisor_lines(
    session: AsyncSession, res: Resources, cadre: Cadre, now: datetime
) -> list[Reply]:
    teams = await team_store.teams_of(session=session, cadre_id=_id(cadre), role=Role.SUPERVISOR)
    replies: list[Reply] = []
    lang = as_language(cadre.language, res.default_language)
    for team, _ in teams:
        for cycle in await cycles.open_cycles(session, _id(team)):
            if len(replies) >= CYCLES_LISTED or cycle.deadline_at is None:
                break
            found = await reminding.standing(session, res, cycle, team, now)
            head = _t(
                res,
                cadre,
                "deadlines_supervised",
                title=reminding.title_of(res, lang, cycle),
                team=team.name,
                deadline=reminding.moment_text(
                    lang, cycle.deadline_at, reminding.team_zone(res, team)
                ),
                left=reminding.left_text(res, lang, cycle.deadline_at, now),
            )
            go = Button(res.raw(lang, "btn_cycle_page"), Action(Act.CYCLE, _id(cycle)))
            lines = [head, *reminding.standing_lines(res, lang, found)]
            replies.append(Reply("\n".join(lines), ((go,),)))
    return replies


# Remind me later --------------------------------------------------------------------------


async def snooze(
    session: AsyncSession, res: Resources, cadre: Cadre, reminder_id: int, now: datetime
) -> list[Reply]:
    """Bring the reminder back at 09:00 the next working day (or an hour before the
    deadline, if sooner). Only the reminder's own recipient, while it still applies."""
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None or reminder.recipient_id != cadre.id:
        return [refused(res, cadre.language)]
    found = await member_cycle(session, cadre, reminder.cycle_id)
    if found is None or found[0].status != CycleStatus.OPEN:
        return [Reply(_t(res, cadre, "snooze_not_needed"))]
    cycle, team = found
    assert cycle.deadline_at is not None
    if await _has_submitted(session, cycle, cadre):
        return [Reply(_t(res, cadre, "snooze_not_needed"))]
    zone = zone_of(res, cadre, team)
    when = remind_later(
        now=now, deadline=cycle.deadline_at, zone=zone, days_off=reminding.days_off_of(team)
    )
    if when is None:
        return [Reply(_t(res, cadre, "snooze_too_late"))]
    # One "later" at a time: pressing again moves it rather than adding another.
    await reminder_store.skip_pending(
        session, cycle_id=_id(cycle), recipient_id=_id(cadre), label="later", reason="moved"
    )
    await reminder_store.add(
        session,
        [
            reminder_store.Planned(
                _id(cycle), _id(cadre), ReminderKind.BEFORE, "later", when, when, False
            )
        ],
    )
    lang = as_language(cadre.language, res.default_language)
    return [Reply(_t(res, cadre, "snoozed", when=reminding.moment_text(lang, when, zone)))]


async def _has_submitted(session: AsyncSession, cycle: Cycle, cadre: Cadre) -> bool:
    found = await session.exec(
        select(Submission.id).where(
            col(Submission.team_id) == cycle.team_id,
            col(Submission.cadre_id) == cadre.id,
            col(Submission.report_type) == cycle.report_type,
            col(Submission.period) == cycle.period,
        )
    )
    return found.first() is not None


# /timezone and /away ----------------------------------------------------------------------


async def timezone(
    session: AsyncSession, res: Resources, cadre: Cadre, args: str, now: datetime
) -> list[Reply]:
    """/timezone shows the person's zone; /timezone <zone> sets it (reminders re-planned),
    /timezone team goes back to the team's."""
    text = args.strip()
    if not text:
        return [Reply(_t(res, cadre, "zone_show", zone=await _zone_shown(session, res, cadre)))]
    if text.lower() in ("team", "团队", "default", "默认"):
        cadre.timezone = None
    else:
        zone = read_zone(text)
        if zone is None:
            return [Reply(_t(res, cadre, "zone_unknown"))]
        cadre.timezone = zone.key
    await _replan_person(session, res, cadre, now)
    return [Reply(_t(res, cadre, "zone_set", zone=await _zone_shown(session, res, cadre)))]


async def _zone_shown(session: AsyncSession, res: Resources, cadre: Cadre) -> str:
    """The person's zone as they read it: their own, or their (first) team's, said so."""
    if cadre.timezone:
        return zone_label(reminding.zone_named(cadre.timezone, res.zone))
    teams = await team_store.teams_of(session=session, cadre_id=_id(cadre))
    zone = reminding.team_zone(res, teams[0][0]) if teams else res.zone
    return res.raw(cadre.language, "zone_team_default", zone=zone_label(zone))


async def _replan_person(
    session: AsyncSession, res: Resources, cadre: Cadre, now: datetime
) -> None:
    """The person's zone changed: their reminders still to send follow it."""
    for team, membership in await team_store.teams_of(session=session, cadre_id=_id(cadre)):
        if membership.role != Role.MEMBER:
            continue
        for cycle in await cycles.open_cycles(session, _id(team)):
            if cycle.deadline_at is None or cycle.deadline_at <= now:
                continue
            await reminding.plan_cycle(
                session, res, cycle, team, now, only={_id(cadre): cadre.timezone}
            )


async def away(
    session: AsyncSession, res: Resources, cadre: Cadre, args: str, now: datetime
) -> list[Reply]:
    """/away <date>: no reminders until then (supervisors are told if it is past a
    deadline); /away off: back; /away: what is set."""
    lang = as_language(cadre.language, res.default_language)
    text = args.strip()
    zone = zone_of(res, cadre, None)
    if not text:
        if cadre.away_until is not None and cadre.away_until > now:
            when = reminding.moment_text(lang, cadre.away_until, zone)
            return [Reply(_t(res, cadre, "away_show", when=when))]
        return [Reply(_t(res, cadre, "away_usage"))]
    if text.lower() in ("off", "back", "结束", "取消", "回来了"):
        cadre.away_until = None
        return [Reply(_t(res, cadre, "away_off"))]
    try:
        until = read_moment(text, now=now, zone=zone, default_hour=0)
    except Unreadable as exc:
        return [Reply(_t(res, cadre, f"deadline_{exc.reason}", zone=zone_label(zone)))]
    cadre.away_until = until.astimezone(UTC)
    told = await _tell_supervisors_away(session, res, cadre, now)
    when = reminding.moment_text(lang, cadre.away_until, zone)
    key = "away_set_told" if told else "away_set"
    return [Reply(_t(res, cadre, key, when=when))]


async def _tell_supervisors_away(
    session: AsyncSession, res: Resources, cadre: Cadre, now: datetime
) -> int:
    """Supervisors of cycles whose deadline falls before the person is back."""
    assert cadre.away_until is not None
    told = 0
    for team, membership in await team_store.teams_of(session=session, cadre_id=_id(cadre)):
        if membership.role != Role.MEMBER:
            continue
        for cycle in await cycles.open_cycles(session, _id(team)):
            if cycle.deadline_at is None or cycle.deadline_at > cadre.away_until:
                continue
            if await _has_submitted(session, cycle, cadre):
                continue
            for supervisor, _ in await team_store.people_of(
                session=session, team_id=_id(team), role=Role.SUPERVISOR
            ):
                lang = as_language(supervisor.language, res.default_language)
                zone = reminding.person_zone(res, supervisor.timezone, team)
                text = res.t(
                    lang,
                    "notify_away",
                    name=cadre.name,
                    until=reminding.moment_text(lang, cadre.away_until, zone),
                    title=reminding.title_of(res, lang, cycle),
                    deadline=reminding.moment_text(lang, cycle.deadline_at, zone),
                )
                assert supervisor.id is not None
                enqueue(
                    session,
                    recipient_id=supervisor.id,
                    kind="away",
                    payload={"text": text, "summary": text},
                    now=now,
                    about_id=cadre.id,
                )
                told += 1
    return told
