"""Reporting cycles, the supervisor's side: open one (report type, deadline read back and
confirmed, reminder offsets), see how it stands, move its deadline, close it, excuse a
member; and the team's reminder settings (time zone, days off, daily overdue reminders).

A cycle being set up is a row (`draft`) filled step by step, so a restart in the middle
loses nothing; only a supervisor of its team reaches it. Opening it announces it to the
members (outbox) and plans their reminders (rows), in the transaction of the press.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cycles.calendar import DaysOff, next_morning
from bot.cycles.when import (
    DEFAULT_OFFSETS,
    Unreadable,
    format_offset,
    read_moment,
    read_offsets,
    read_zone,
    zone_label,
)
from bot.services import notify, reminding
from bot.services.access import refused, supervised_team
from bot.services.board import period_of
from bot.services.replies import Act, Action, Button, Reply, series
from bot.services.resources import Resources, as_language
from bot.services.submissions import board_arg
from bot.store import reminders as reminder_store
from bot.store import teams as team_store
from bot.store.models import (
    Cadre,
    Cycle,
    CycleExemption,
    CycleStatus,
    Membership,
    ReminderKind,
    Role,
    Team,
)
from bot.store.outbox import enqueue

AWAIT_DEADLINE = "cycle_deadline:"  # + cycle id: the next text is its deadline
AWAIT_OFFSETS = "cycle_offsets:"  # + cycle id: the next text is its reminder offsets
AWAIT_TEAM_ZONE = "team_zone:"  # + team id: the next text is the team's time zone
CYCLES_SHOWN = 8


def _t(res: Resources, cadre: Cadre, key: str, /, **params: str | int) -> str:
    return res.t(cadre.language, key, **params)


def _b(res: Resources, cadre: Cadre, key: str, action: Action, **params: str | int) -> Button:
    return Button(res.raw(cadre.language, key, **params), action)


def _id(row: Cadre | Team | Cycle) -> int:
    assert row.id is not None
    return row.id


def minutes_arg(moment: datetime) -> str:
    """A moment as a button's argument: minutes since the epoch."""
    return str(int(moment.timestamp() // 60))


def moment_of_arg(arg: str) -> datetime | None:
    """The moment a button's argument names, or None if it names none."""
    if not arg.isdigit() or len(arg) > 10:
        return None
    try:
        return datetime.fromtimestamp(int(arg) * 60, UTC)
    except (ValueError, OverflowError, OSError):  # beyond the calendar: a forged button
        return None


# Finding a cycle the presser may touch ----------------------------------------------------


async def supervised_cycle(
    session: AsyncSession, cadre: Cadre, cycle_id: int
) -> tuple[Cycle, Team] | None:
    """The cycle, if the person supervises its team."""
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        return None
    team = await supervised_team(session=session, cadre_id=_id(cadre), team_id=cycle.team_id)
    return None if team is None else (cycle, team)


async def open_cycles(session: AsyncSession, team_id: int) -> list[Cycle]:
    """A team's open cycles, earliest deadline first."""
    return list(
        (
            await session.exec(
                select(Cycle)
                .where(col(Cycle.team_id) == team_id, col(Cycle.status) == CycleStatus.OPEN)
                .order_by(col(Cycle.deadline_at), col(Cycle.id))
            )
        ).all()
    )


# Commands and the team's cycles page ------------------------------------------------------


async def new_cycle_command(
    session: AsyncSession, res: Resources, cadre: Cadre, now: datetime
) -> list[Reply]:
    """/newcycle: for the one team the person supervises, or a choice of them."""
    teams = [
        team
        for team, _ in await team_store.teams_of(
            session=session, cadre_id=_id(cadre), role=Role.SUPERVISOR
        )
    ]
    if not teams:
        return [Reply(_t(res, cadre, "cycle_no_team"))]
    if len(teams) == 1:
        return await start(session, res, cadre, teams[0], now)
    buttons = tuple(
        (_b(res, cadre, "btn_team_name", Action(Act.CYCLE_NEW, _id(t)), name=t.name),)
        for t in teams[:20]
    )
    return [Reply(_t(res, cadre, "cycle_pick_team"), buttons)]


async def cycles_page(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team
) -> list[Reply]:
    """A team's cycles (open first) and its reminder settings, with buttons to each."""
    lang = cadre.language
    cycles = list(
        (
            await session.exec(
                select(Cycle)
                .where(col(Cycle.team_id) == team.id, col(Cycle.status) != CycleStatus.DRAFT)
                .order_by(col(Cycle.status) != CycleStatus.OPEN, col(Cycle.id).desc())
                .limit(CYCLES_SHOWN)
            )
        ).all()
    )
    zone = reminding.team_zone(res, team)
    lines = [_t(res, cadre, "cycles_header", team=team.name)]
    for cycle in cycles:
        assert cycle.deadline_at is not None
        key = "cycles_line_open" if cycle.status == CycleStatus.OPEN else "cycles_line_closed"
        lines.append(
            _t(
                res,
                cadre,
                key,
                title=reminding.title_of(res, cadre.language, cycle),
                deadline=reminding.moment_text(lang, cycle.deadline_at, zone),
            )
        )
    if not cycles:
        lines.append(_t(res, cadre, "cycles_none"))
    lines.append(
        _t(
            res,
            cadre,
            "cycles_settings",
            zone=zone_label(zone),
            days_off=res.raw(lang, f"days_off_{reminding.days_off_of(team).value}"),
            overdue=res.raw(lang, "on" if team.overdue_daily else "off"),
        )
    )
    tid = _id(team)
    rows: list[tuple[Button, ...]] = [
        (
            _b(
                res,
                cadre,
                "btn_cycle_line",
                Action(Act.CYCLE, _id(c)),
                title=reminding.title_of(res, cadre.language, c)[:40],
            ),
        )
        for c in cycles
    ]
    following = {
        DaysOff.STATUTORY: DaysOff.WEEKENDS,
        DaysOff.WEEKENDS: DaysOff.NONE,
        DaysOff.NONE: DaysOff.STATUTORY,
    }[reminding.days_off_of(team)]
    rows += [
        (_b(res, cadre, "btn_cycle_new", Action(Act.CYCLE_NEW, tid)),),
        (
            _b(res, cadre, "btn_team_zone", Action(Act.TEAM_ZONE, tid)),
            _b(
                res,
                cadre,
                "btn_days_off",
                Action(Act.TEAM_DAYS_OFF, tid, following.value),
                days_off=res.raw(lang, f"days_off_{following.value}"),
            ),
        ),
        (
            _b(
                res,
                cadre,
                "btn_overdue_off" if team.overdue_daily else "btn_overdue_on",
                Action(Act.TEAM_OVERDUE, tid, "off" if team.overdue_daily else "on"),
            ),
            _b(res, cadre, "btn_back_team", Action(Act.TEAM, tid)),
        ),
    ]
    return [Reply("\n".join(lines), tuple(rows))]


# Setting a cycle up -----------------------------------------------------------------------


async def start(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, now: datetime
) -> list[Reply]:
    """A new cycle for the team: which report? (A set-up left unfinished is dropped.)"""
    await session.exec(
        delete(Cycle).where(
            col(Cycle.team_id) == team.id,
            col(Cycle.created_by) == cadre.id,
            col(Cycle.status) == CycleStatus.DRAFT,
        )
    )
    cycle = Cycle(
        team_id=_id(team),
        created_by=_id(cadre),
        offsets=[o.label for o in DEFAULT_OFFSETS],
        created_at=now,
        updated_at=now,
    )
    session.add(cycle)
    await session.flush()
    lang = as_language(cadre.language, res.default_language)
    buttons = tuple(
        (Button(q.name, Action(Act.CYCLE_TYPE, _id(cycle), q.report_type)),)
        for q in res.catalogue.report_types(lang)
    )
    cancel = (_b(res, cadre, "btn_cancel", Action(Act.CYCLE_DISCARD, _id(cycle))),)
    return [Reply(_t(res, cadre, "cycle_ask_type", team=team.name), (*buttons, cancel))]


async def choose_type(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    cycle: Cycle,
    team: Team,
    report_type: str,
    now: datetime,
) -> list[Reply]:
    """The report is chosen: its period is the one interviews write now; then the deadline."""
    lang = as_language(cadre.language, res.default_language)
    if (report_type, lang) not in res.catalogue.by_key:
        return [refused(res, cadre.language)]
    if cycle.status != CycleStatus.DRAFT:
        # Chosen before: the button is of an earlier step.
        return [
            Reply(_t(res, cadre, "stale_button")),
            *await page(session, res, cadre, cycle, team, now),
        ]
    period = period_of(now, res)
    # One cycle per report and period: submissions are one per person, type and period.
    existing = await reminder_store.cycle_for(
        session, team_id=_id(team), report_type=report_type, period=period
    )
    if existing is not None:
        go = _b(
            res,
            cadre,
            "btn_cycle_line",
            Action(Act.CYCLE, _id(existing)),
            title=reminding.title_of(res, cadre.language, existing)[:40],
        )
        return [
            Reply(
                _t(
                    res,
                    cadre,
                    "cycle_exists",
                    title=reminding.title_of(res, cadre.language, existing),
                ),
                ((go,),),
            )
        ]
    name = reminding.report_name(res, lang, report_type)
    cycle.report_type = report_type
    cycle.period = period
    cycle.title = res.raw(lang, "cycle_title", period=period, report=name)
    cycle.updated_at = now
    cycle.revision += 1
    session.add(cycle)
    return ask_deadline(res, cadre, cycle, team)


def ask_deadline(res: Resources, cadre: Cadre, cycle: Cycle, team: Team) -> list[Reply]:
    """By when? (Typed; read back before anything is saved for good.)"""
    cadre.awaiting_input = f"{AWAIT_DEADLINE}{_id(cycle)}"
    zone = reminding.team_zone(res, team)
    return [
        Reply(
            _t(
                res,
                cadre,
                "cycle_ask_deadline",
                title=reminding.title_of(res, cadre.language, cycle),
                zone=zone_label(zone),
            ),
            force_reply=_t(res, cadre, "cycle_deadline_placeholder"),
        )
    ]


async def typed(
    session: AsyncSession, res: Resources, cadre: Cadre, text: str, now: datetime
) -> list[Reply] | None:
    """A text owed to a cycle's set-up or the team's settings; None if none is owed."""
    mark = cadre.awaiting_input or ""
    for prefix, handler in (
        (AWAIT_DEADLINE, _typed_deadline),
        (AWAIT_OFFSETS, _typed_offsets),
    ):
        if mark.startswith(prefix) and mark.removeprefix(prefix).isdigit():
            found = await supervised_cycle(session, cadre, int(mark.removeprefix(prefix)))
            if found is None or found[0].status == CycleStatus.CLOSED:
                cadre.awaiting_input = None
                return [refused(res, cadre.language)]
            return await handler(session, res, cadre, found[0], found[1], text, now)
    if mark.startswith(AWAIT_TEAM_ZONE) and mark.removeprefix(AWAIT_TEAM_ZONE).isdigit():
        team = await supervised_team(
            session=session, cadre_id=_id(cadre), team_id=int(mark.removeprefix(AWAIT_TEAM_ZONE))
        )
        if team is None:
            cadre.awaiting_input = None
            return [refused(res, cadre.language)]
        return await _typed_zone(session, res, cadre, team, text, now)
    return None


def owed_prompt(res: Resources, cadre: Cadre) -> list[Reply]:
    """What the next text will be taken as, said again (after a sticker, say)."""
    mark = cadre.awaiting_input or ""
    if mark.startswith(AWAIT_DEADLINE):
        return [Reply(_t(res, cadre, "cycle_deadline_waiting"))]
    if mark.startswith(AWAIT_OFFSETS):
        return [Reply(_t(res, cadre, "cycle_offsets_waiting"))]
    if mark.startswith(AWAIT_TEAM_ZONE):
        return [Reply(_t(res, cadre, "zone_waiting"))]
    return []


async def _typed_deadline(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    cycle: Cycle,
    team: Team,
    text: str,
    now: datetime,
) -> list[Reply]:
    zone = reminding.team_zone(res, team)
    try:
        moment = read_moment(text, now=now, zone=zone)
    except Unreadable as exc:
        # Still owed: the next text is tried again.
        return [Reply(_t(res, cadre, f"deadline_{exc.reason}", zone=zone_label(zone)))]
    cadre.awaiting_input = None
    deadline = moment.astimezone(UTC)
    if cycle.status == CycleStatus.DRAFT:
        cycle.deadline_at = deadline
        cycle.revision += 1
        cycle.updated_at = now
        session.add(cycle)
        return await confirmation(session, res, cadre, cycle, team, now)
    # An open cycle: the new deadline is read back, and the button carries it.
    when = reminding.moment_text(cadre.language, deadline, zone)
    yes = _b(
        res,
        cadre,
        "btn_cycle_move",
        Action(Act.CYCLE_MOVE, _id(cycle), minutes_arg(deadline), revision=cycle.revision),
    )
    no = _b(res, cadre, "btn_cycle_keep", Action(Act.CYCLE, _id(cycle)))
    return [
        Reply(
            _t(
                res,
                cadre,
                "cycle_move_confirm",
                title=reminding.title_of(res, cadre.language, cycle),
                deadline=when,
            ),
            ((yes, no),),
        )
    ]


async def _typed_offsets(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    cycle: Cycle,
    team: Team,
    text: str,
    now: datetime,
) -> list[Reply]:
    try:
        offsets = read_offsets(text)
    except Unreadable:
        return [Reply(_t(res, cadre, "offsets_unreadable"))]
    cadre.awaiting_input = None
    cycle.offsets = [o.label for o in offsets]
    cycle.revision += 1
    cycle.updated_at = now
    session.add(cycle)
    if cycle.status == CycleStatus.OPEN:
        await reminding.replan(session, res, cycle, team, now)
        return [
            Reply(_t(res, cadre, "offsets_saved")),
            *await page(session, res, cadre, cycle, team, now),
        ]
    return await confirmation(session, res, cadre, cycle, team, now)


def _offsets_text(lang: str, cycle: Cycle) -> str:
    return series(lang, (format_offset(o, lang) for o in reminding.offsets_of(cycle)))


async def confirmation(
    session: AsyncSession, res: Resources, cadre: Cadre, cycle: Cycle, team: Team, now: datetime
) -> list[Reply]:
    """The set-up read back: report, deadline with its weekday and zone, reminders,
    members; open it, or change something."""
    assert cycle.deadline_at is not None
    lang = cadre.language
    zone = reminding.team_zone(res, team)
    members = await team_store.count_people(session=session, team_id=_id(team), role=Role.MEMBER)
    lines = [
        _t(
            res,
            cadre,
            "cycle_confirm",
            title=reminding.title_of(res, cadre.language, cycle),
            report=reminding.report_name(res, lang, cycle.report_type),
            period=cycle.period,
            deadline=reminding.moment_text(lang, cycle.deadline_at, zone),
            offsets=_offsets_text(lang, cycle) or "—",
            members=members,
        )
    ]
    unknown = reminding.unknown_years(cycle, team, now)
    if unknown:
        lines.append(_t(res, cadre, "calendar_unknown", years=series(lang, map(str, unknown))))
    cid = _id(cycle)
    rows = (
        (_b(res, cadre, "btn_cycle_open", Action(Act.CYCLE_OPEN, cid, revision=cycle.revision)),),
        (
            _b(res, cadre, "btn_cycle_deadline", Action(Act.CYCLE_DEADLINE, cid)),
            _b(res, cadre, "btn_cycle_offsets", Action(Act.CYCLE_OFFSETS, cid)),
        ),
        (_b(res, cadre, "btn_cancel", Action(Act.CYCLE_DISCARD, cid)),),
    )
    return [Reply("\n".join(lines), rows)]


async def open_cycle(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    cycle: Cycle,
    team: Team,
    revision: int | None,
    now: datetime,
) -> list[Reply]:
    """Open: members are told, reminders planned. Only the set-up that was read back."""
    if cycle.status != CycleStatus.DRAFT or revision != cycle.revision or cycle.deadline_at is None:
        if cycle.status == CycleStatus.OPEN:
            return await page(session, res, cadre, cycle, team, now)
        return [Reply(_t(res, cadre, "stale_button"))]
    if cycle.deadline_at <= now:
        return [
            Reply(_t(res, cadre, "deadline_past", zone=zone_label(reminding.team_zone(res, team)))),
            *ask_deadline(res, cadre, cycle, team),
        ]
    # Locked first: two supervisors opening the same report at once open one cycle.
    await team_store.lock_team(session=session, team_id=_id(team))
    same = await reminder_store.cycle_for(
        session, team_id=_id(team), report_type=cycle.report_type, period=cycle.period
    )
    if same is not None:
        return [
            Reply(
                _t(res, cadre, "cycle_exists", title=reminding.title_of(res, cadre.language, cycle))
            )
        ]
    cycle.status = CycleStatus.OPEN
    cycle.opened_at = now
    cycle.updated_at = now
    cycle.revision += 1
    session.add(cycle)
    await session.flush()
    planned = await reminding.plan_cycle(session, res, cycle, team, now)
    await announce(session, res, cycle, team, now)
    return [
        Reply(
            _t(
                res,
                cadre,
                "cycle_opened",
                title=reminding.title_of(res, cadre.language, cycle),
                members=planned,
            )
        ),
        *await page(session, res, cadre, cycle, team, now),
    ]


async def announce(
    session: AsyncSession,
    res: Resources,
    cycle: Cycle,
    team: Team,
    now: datetime,
    *,
    key: str = "cycle_announce",
    only: Sequence[int] | None = None,
) -> int:
    """Tell members (all who have not submitted, or those in `only`) about the cycle, in
    their language and time zone, with a button to start or continue its interview."""
    assert cycle.deadline_at is not None
    members = await _people(session, _id(team), Role.MEMBER)
    settled = await reminding.settled(session, cycle)
    told = 0
    for person in members:
        if person.id in settled or (only is not None and person.id not in only):
            continue
        lang = as_language(person.language, res.default_language)
        zone = reminding.person_zone(res, person.timezone, team)
        text = res.t(
            lang,
            key,
            team=team.name,
            title=reminding.title_of(res, lang, cycle),
            report=reminding.report_name(res, lang, cycle.report_type),
            period=cycle.period,
            deadline=reminding.moment_text(lang, cycle.deadline_at, zone),
        )
        go = Button(res.raw(lang, "btn_cycle_go"), Action(Act.CYCLE_GO, _id(cycle)))
        assert person.id is not None
        enqueue(
            session,
            recipient_id=person.id,
            kind="cycle",
            payload={"text": text, "summary": text, "buttons": notify.button_payload(((go,),))},
            now=now,
        )
        told += 1
    return told


async def _people(session: AsyncSession, team_id: int, role: Role) -> list[Cadre]:
    return [c for c, _ in await team_store.people_of(session=session, team_id=team_id, role=role)]


async def welcome_member(
    session: AsyncSession, res: Resources, team: Team, person: Cadre, now: datetime
) -> None:
    """Someone joined the team: told of its open cycles at once, and reminded like the rest."""
    for cycle in await open_cycles(session, _id(team)):
        if cycle.deadline_at is None or cycle.deadline_at <= now:
            continue  # past it: they are not told they are late the moment they join
        planned = await reminding.plan_cycle(
            session, res, cycle, team, now, only={_id(person): person.timezone}
        )
        if planned:
            await announce(session, res, cycle, team, now, only=[_id(person)])


async def welcome_supervisor(
    session: AsyncSession, res: Resources, team: Team, person: Cadre, now: datetime
) -> None:
    """A new supervisor of the team gets the digests of its open cycles: at the deadline,
    or, past it, the next working morning (and daily while anyone is outstanding)."""
    for cycle in await open_cycles(session, _id(team)):
        if cycle.deadline_at is None:
            continue
        if cycle.deadline_at > now:
            await reminder_store.add(
                session, reminding.plan_digests(res, cycle, team, [(_id(person), person.timezone)])
            )
            continue
        zone = reminding.person_zone(res, person.timezone, team)
        at = next_morning(after=now, zone=zone, days_off=reminding.days_off_of(team))
        await reminder_store.add(
            session,
            [reminder_store.Planned(_id(cycle), _id(person), ReminderKind.DIGEST, "daily", at, at)],
        )


# An open cycle ----------------------------------------------------------------------------


async def page(
    session: AsyncSession, res: Resources, cadre: Cadre, cycle: Cycle, team: Team, now: datetime
) -> list[Reply]:
    """A cycle's page: deadline, reminders, where members stand; what can be done."""
    if cycle.status == CycleStatus.DRAFT:
        if cycle.deadline_at is None:
            return [Reply(_t(res, cadre, "stale_button"))]
        return await confirmation(session, res, cadre, cycle, team, now)
    assert cycle.deadline_at is not None
    lang = cadre.language
    zone = reminding.team_zone(res, team)
    found = await reminding.standing(session, res, cycle, team, now)
    key = "cycle_page_open" if cycle.status == CycleStatus.OPEN else "cycle_page_closed"
    lines = [
        _t(
            res,
            cadre,
            key,
            title=reminding.title_of(res, cadre.language, cycle),
            team=team.name,
            deadline=reminding.moment_text(lang, cycle.deadline_at, zone),
            left=reminding.left_text(res, lang, cycle.deadline_at, now),
            offsets=_offsets_text(lang, cycle) or "—",
        ),
        *reminding.standing_lines(res, lang, found),
    ]
    cid = _id(cycle)
    board = _b(
        res,
        cadre,
        "btn_board",
        Action(Act.BOARD, _id(team), board_arg(cycle.report_type, cycle.period), 0),
    )
    back = _b(res, cadre, "btn_cycles", Action(Act.CYCLES, _id(team)))
    rows: tuple[tuple[Button, ...], ...]
    if cycle.status == CycleStatus.OPEN:
        rows = (
            (board,),
            (
                _b(res, cadre, "btn_cycle_deadline", Action(Act.CYCLE_DEADLINE, cid)),
                _b(res, cadre, "btn_cycle_offsets", Action(Act.CYCLE_OFFSETS, cid)),
            ),
            (_b(res, cadre, "btn_cycle_close", Action(Act.CYCLE_CLOSE, cid)), back),
        )
    else:
        rows = ((board, back),)
    return [Reply("\n".join(lines), rows, standalone=False)]


async def move(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    cycle: Cycle,
    team: Team,
    action: Action,
    now: datetime,
) -> list[Reply]:
    """A new deadline, read back and confirmed: reminders re-planned, members told."""
    deadline = moment_of_arg(action.arg)
    if cycle.status != CycleStatus.OPEN or action.revision != cycle.revision or deadline is None:
        return [
            Reply(_t(res, cadre, "stale_button")),
            *await page(session, res, cadre, cycle, team, now),
        ]
    if deadline <= now:
        return [
            Reply(_t(res, cadre, "deadline_past", zone=zone_label(reminding.team_zone(res, team))))
        ]
    cycle.deadline_at = deadline
    cycle.revision += 1
    cycle.updated_at = now
    session.add(cycle)
    await session.flush()
    await reminding.replan(session, res, cycle, team, now)
    told = await announce(session, res, cycle, team, now, key="cycle_moved_notice")
    return [
        Reply(_t(res, cadre, "cycle_moved", members=told)),
        *await page(session, res, cadre, cycle, team, now),
    ]


async def close(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    cycle: Cycle,
    team: Team,
    revision: int | None,
    now: datetime,
) -> list[Reply]:
    """Closed: no more reminders or digests; submissions are still accepted."""
    if cycle.status != CycleStatus.OPEN or revision != cycle.revision:
        return [
            Reply(_t(res, cadre, "stale_button")),
            *await page(session, res, cadre, cycle, team, now),
        ]
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = now
    cycle.updated_at = now
    cycle.revision += 1
    session.add(cycle)
    await reminder_store.skip_pending(session, cycle_id=_id(cycle), reason="closed")
    return [
        Reply(_t(res, cadre, "cycle_closed", title=reminding.title_of(res, cadre.language, cycle))),
        *await page(session, res, cadre, cycle, team, now),
    ]


def ask_close(res: Resources, cadre: Cadre, cycle: Cycle) -> list[Reply]:
    """Close it? No more reminders; reports are still accepted."""
    yes = _b(
        res,
        cadre,
        "btn_cycle_close_yes",
        Action(Act.CYCLE_CLOSE_YES, _id(cycle), revision=cycle.revision),
    )
    no = _b(res, cadre, "btn_cycle_keep", Action(Act.CYCLE, _id(cycle)))
    return [
        Reply(
            _t(
                res,
                cadre,
                "cycle_close_confirm",
                title=reminding.title_of(res, cadre.language, cycle),
            ),
            ((yes, no),),
        )
    ]


def ask_offsets(res: Resources, cadre: Cadre, cycle: Cycle) -> list[Reply]:
    """Which reminders? (Typed.)"""
    cadre.awaiting_input = f"{AWAIT_OFFSETS}{_id(cycle)}"
    return [
        Reply(
            _t(
                res, cadre, "cycle_ask_offsets", offsets=_offsets_text(cadre.language, cycle) or "—"
            ),
            force_reply="7d 3d 1d 2h",
        )
    ]


async def discard(session: AsyncSession, res: Resources, cadre: Cadre, cycle: Cycle) -> list[Reply]:
    """A set-up dropped (an open cycle is closed, not dropped)."""
    if cycle.status != CycleStatus.DRAFT:
        return [Reply(_t(res, cadre, "stale_button"))]
    await session.delete(cycle)
    if (cadre.awaiting_input or "").endswith(f":{_id(cycle)}"):
        cadre.awaiting_input = None
    return [Reply(_t(res, cadre, "cycle_discarded"))]


# Excusing a member ------------------------------------------------------------------------


async def exempt(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    cycle: Cycle,
    team: Team,
    membership_id: int,
    excuse: bool,
    now: datetime,
) -> list[Reply]:
    """Excuse a current member from the cycle (no reminders, not missing), or undo it."""
    member = await session.get(Membership, membership_id)
    if (
        member is None
        or member.team_id != cycle.team_id
        or member.role != Role.MEMBER
        or member.left_at is not None
        or cycle.status != CycleStatus.OPEN
    ):
        return [refused(res, cadre.language)]
    person = await session.get(Cadre, member.cadre_id)
    assert person is not None
    existing = await session.get(CycleExemption, (_id(cycle), member.cadre_id))
    if excuse and existing is None:
        session.add(
            CycleExemption(
                cycle_id=_id(cycle),
                cadre_id=member.cadre_id,
                exempted_by=_id(cadre),
                created_at=now,
            )
        )
        await reminder_store.skip_pending(
            session,
            cycle_id=_id(cycle),
            recipient_id=member.cadre_id,
            reason="exempt",
            kinds=(ReminderKind.BEFORE, ReminderKind.OVERDUE),
        )
        notify_key = "notify_exempted"
    elif not excuse and existing is not None:
        await session.delete(existing)
        await session.flush()
        await reminding.plan_cycle(
            session, res, cycle, team, now, only={member.cadre_id: person.timezone}
        )
        notify_key = "notify_unexempted"
    else:
        return await page(session, res, cadre, cycle, team, now)
    lang = as_language(person.language, res.default_language)
    text = res.t(lang, notify_key, title=reminding.title_of(res, lang, cycle), team=team.name)
    enqueue(
        session,
        recipient_id=member.cadre_id,
        kind="cycle",
        payload={"text": text, "summary": text},
        now=now,
    )
    key = "cycle_exempted" if excuse else "cycle_unexempted"
    return [
        Reply(
            _t(
                res,
                cadre,
                key,
                name=person.name,
                title=reminding.title_of(res, cadre.language, cycle),
            )
        )
    ]


async def exempt_button(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    team: Team,
    report_type: str,
    period: str,
    membership_id: int,
    cadre_id: int,
) -> Button | None:
    """On a member's board page: excuse them from the open cycle of that report (or undo)."""
    cycle = (
        await session.exec(
            select(Cycle).where(
                col(Cycle.team_id) == team.id,
                col(Cycle.report_type) == report_type,
                col(Cycle.period) == period,
                col(Cycle.status) == CycleStatus.OPEN,
            )
        )
    ).first()
    if cycle is None:
        return None
    excused = await session.get(CycleExemption, (_id(cycle), cadre_id))
    if excused is not None:
        return _b(res, cadre, "btn_unexempt", Action(Act.UNEXEMPT, _id(cycle), index=membership_id))
    return _b(res, cadre, "btn_exempt", Action(Act.EXEMPT, _id(cycle), index=membership_id))


# The team's reminder settings -------------------------------------------------------------


async def ask_zone(session: AsyncSession, res: Resources, cadre: Cadre, team: Team) -> list[Reply]:
    """Which time zone? (Typed.)"""
    cadre.awaiting_input = f"{AWAIT_TEAM_ZONE}{_id(team)}"
    zone = reminding.team_zone(res, team)
    return [
        Reply(
            _t(res, cadre, "team_ask_zone", team=team.name, zone=zone_label(zone)),
            force_reply="Asia/Shanghai",
        )
    ]


async def _typed_zone(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, text: str, now: datetime
) -> list[Reply]:
    zone = read_zone(text)
    if zone is None:
        return [Reply(_t(res, cadre, "zone_unknown"))]
    cadre.awaiting_input = None
    team.timezone = zone.key
    team.updated_at = now
    session.add(team)
    await _replan_team(session, res, team, now)
    return [
        Reply(_t(res, cadre, "team_zone_set", team=team.name, zone=zone_label(zone))),
        *await cycles_page(session, res, cadre, team),
    ]


async def set_days_off(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, value: str, now: datetime
) -> list[Reply]:
    """Which days reminders avoid: statutory holidays, weekends, or none."""
    try:
        days_off = DaysOff(value)
    except ValueError:
        return [refused(res, cadre.language)]
    team.days_off = days_off.value
    team.updated_at = now
    session.add(team)
    await _replan_team(session, res, team, now)
    return await cycles_page(session, res, cadre, team)


async def set_overdue(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, value: str, now: datetime
) -> list[Reply]:
    """Daily reminders for members past the deadline: "on" or "off" (the button says which,
    so an old page's button does what it said). Off: those already planned are dropped."""
    if value not in ("on", "off"):
        return [refused(res, cadre.language)]
    team.overdue_daily = value == "on"
    team.updated_at = now
    session.add(team)
    if not team.overdue_daily:
        for cycle in await open_cycles(session, _id(team)):
            await reminder_store.skip_pending(
                session,
                cycle_id=_id(cycle),
                kinds=(ReminderKind.OVERDUE,),
                label="daily",
                reason="daily reminders off",
            )
    return await cycles_page(session, res, cadre, team)


async def _replan_team(session: AsyncSession, res: Resources, team: Team, now: datetime) -> None:
    await session.flush()
    for cycle in await open_cycles(session, _id(team)):
        if cycle.deadline_at is not None and cycle.deadline_at > now:
            await reminding.replan(session, res, cycle, team, now)


# Dispatch ---------------------------------------------------------------------------------

CYCLE_ACTS = frozenset(
    {
        Act.CYCLE_TYPE,
        Act.CYCLE,
        Act.CYCLE_OPEN,
        Act.CYCLE_DEADLINE,
        Act.CYCLE_MOVE,
        Act.CYCLE_OFFSETS,
        Act.CYCLE_CLOSE,
        Act.CYCLE_CLOSE_YES,
        Act.CYCLE_DISCARD,
        Act.EXEMPT,
        Act.UNEXEMPT,
    }
)


async def press(
    session: AsyncSession, res: Resources, cadre: Cadre, action: Action, now: datetime
) -> list[Reply]:
    """A button on a cycle, checked against the presser's supervision of its team."""
    found = await supervised_cycle(session, cadre, action.target)
    if found is None:
        return [refused(res, cadre.language)]
    cycle, team = found
    match action.act:
        case Act.CYCLE_TYPE:
            return await choose_type(session, res, cadre, cycle, team, action.arg, now)
        case Act.CYCLE:
            return await page(session, res, cadre, cycle, team, now)
        case Act.CYCLE_OPEN:
            return await open_cycle(session, res, cadre, cycle, team, action.revision, now)
        case Act.CYCLE_DEADLINE if cycle.status != CycleStatus.CLOSED and cycle.report_type:
            return ask_deadline(res, cadre, cycle, team)
        case Act.CYCLE_MOVE:
            return await move(session, res, cadre, cycle, team, action, now)
        case Act.CYCLE_OFFSETS if cycle.status != CycleStatus.CLOSED:
            return ask_offsets(res, cadre, cycle)
        case Act.CYCLE_CLOSE if cycle.status == CycleStatus.OPEN:
            return ask_close(res, cadre, cycle)
        case Act.CYCLE_CLOSE_YES:
            return await close(session, res, cadre, cycle, team, action.revision, now)
        case Act.CYCLE_DISCARD:
            return await discard(session, res, cadre, cycle)
        case Act.EXEMPT | Act.UNEXEMPT:
            excuse = action.act is Act.EXEMPT
            return await exempt(session, res, cadre, cycle, team, action.index, excuse, now)
    return await page(session, res, cadre, cycle, team, now)
