"""Teams: create, invite, join, list and remove members, co-supervisors, rename, delete,
leave. Each function runs inside the caller's unit of work (one transaction) and returns
the replies to show; messages to other people go to the outbox in the same transaction."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.input import Rejected, clean_text
from bot.services import cycles, notify
from bot.services.access import refused, supervised_team
from bot.services.replies import Act, Action, Button, Reply, series, shortened
from bot.services.resources import Resources
from bot.store import teams as store
from bot.store.models import Cadre, Invite, LeftHow, Membership, Role, Submission, Team

TEAM_NAME_LIMIT = 64
PAGE = 20  # members listed per message
# 12 random bytes: 96 bits, 16 characters of [A-Za-z0-9_-], within Telegram's 64.
INVITE_BYTES = 12

# Names shown in lists are cut (a name may have 200 characters): a message must stay within
# Telegram's 4,096.
NAME_WIDTH = 24
NAMES_WIDTH = 300

AWAIT_TEAM_NAME = "team_name"
AWAIT_RENAME = "rename:"


def new_code() -> str:
    """An unguessable invite code, usable as a deep-link payload."""
    return secrets.token_urlsafe(INVITE_BYTES)


def looks_like_code(text: str) -> bool:
    """Whether a /start payload could be one of our codes (anything else is refused
    before the database is asked)."""
    return 8 <= len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text) and text.isascii()


def _t(res: Resources, cadre: Cadre, key: str, /, **params: str | int) -> str:
    return res.t(cadre.language, key, **params)


def _button(
    res: Resources, cadre: Cadre, key: str, act: Act, target: int = 0, *, index: int = -1
) -> Button:
    return Button(_t(res, cadre, key), Action(act, target, index=index))


def _id(cadre: Cadre) -> int:
    assert cadre.id is not None
    return cadre.id


def _clean_name(raw: str) -> str | None:
    cleaned = clean_text(raw, limit=TEAM_NAME_LIMIT)
    if isinstance(cleaned, Rejected):
        return None
    name = " ".join(cleaned.split())
    return name or None


# Creating ---------------------------------------------------------------------------------


async def new_team(
    session: AsyncSession, res: Resources, cadre: Cadre, name_text: str, now: datetime
) -> list[Reply]:
    """/newteam <name>, or the name typed after /newteam alone."""
    if not name_text.strip():
        cadre.awaiting_input = AWAIT_TEAM_NAME
        return [Reply(_t(res, cadre, "team_name_ask", limit=TEAM_NAME_LIMIT))]
    name = _clean_name(name_text)
    if name is None:
        cadre.awaiting_input = AWAIT_TEAM_NAME
        return [Reply(_t(res, cadre, "team_name_bad", limit=TEAM_NAME_LIMIT))]
    cadre.awaiting_input = None
    team = await store.create_team(
        session=session, name=name, creator=cadre, now=now, timezone=res.zone.key
    )
    invite = await _new_member_invite(session, team, cadre, now)
    text = _t(res, cadre, "team_created", team=name, link=res.links.start(invite.code))
    return [Reply(text, _home_buttons(res, cadre, team))]


async def _new_member_invite(
    session: AsyncSession, team: Team, cadre: Cadre, now: datetime
) -> Invite:
    assert team.id is not None
    await store.revoke_invites(session=session, team_id=team.id, role=Role.MEMBER, now=now)
    return await store.add_invite(
        session=session,
        team_id=team.id,
        code=new_code(),
        role=Role.MEMBER,
        creator=_id(cadre),
        now=now,
    )


# Where the person's teams are -------------------------------------------------------------


async def overview(session: AsyncSession, res: Resources, cadre: Cadre) -> list[Reply]:
    """/team: the teams the person supervises and those they belong to."""
    supervised = await store.teams_of(session=session, cadre_id=_id(cadre), role=Role.SUPERVISOR)
    joined = await store.teams_of(session=session, cadre_id=_id(cadre), role=Role.MEMBER)
    if not supervised and not joined:
        return [
            Reply(
                _t(res, cadre, "teams_none"),
                ((_button(res, cadre, "btn_team_new", Act.TEAM_NEW),),),
            )
        ]
    if len(supervised) == 1 and not joined:
        return await home(session, res, cadre, supervised[0][0])
    lines: list[str] = []
    rows: list[tuple[Button, ...]] = []
    if supervised:
        lines.append(_t(res, cadre, "teams_supervised"))
        for team, _ in supervised:
            lines.append(_t(res, cadre, "teams_line", team=team.name))
            rows.append((Button(team.name, Action(Act.TEAM, team.id or 0)),))
    if joined:
        lines.append(_t(res, cadre, "teams_joined"))
        for team, _ in joined:
            assert team.id is not None
            sups = await store.people_of(session=session, team_id=team.id, role=Role.SUPERVISOR)
            lines.append(
                _t(
                    res,
                    cadre,
                    "teams_joined_line",
                    team=team.name,
                    supervisors=_names(res, cadre, [c for c, _ in sups]),
                )
            )
            rows.append(
                (
                    Button(
                        res.raw(cadre.language, "btn_leave_team", team=team.name),
                        Action(Act.LEAVE, team.id),
                    ),
                )
            )
    rows.append((_button(res, cadre, "btn_team_new", Act.TEAM_NEW),))
    return [Reply("\n".join(lines), tuple(rows))]


def _names(res: Resources, cadre: Cadre, people: Sequence[Cadre]) -> str:
    names = series(cadre.language, (p.name for p in people), width=NAME_WIDTH, total=NAMES_WIDTH)
    return names or _t(res, cadre, "nobody")


async def home(session: AsyncSession, res: Resources, cadre: Cadre, team: Team) -> list[Reply]:
    """A supervised team's page: who supervises, how many members, what can be done."""
    assert team.id is not None
    supervisors = [
        c for c, _ in await store.people_of(session=session, team_id=team.id, role=Role.SUPERVISOR)
    ]
    members = await store.count_people(session=session, team_id=team.id, role=Role.MEMBER)
    lines = [
        _t(
            res,
            cadre,
            "team_home",
            team=team.name,
            supervisors=_names(res, cadre, supervisors),
            members=members,
        )
    ]
    unreachable = [c for c in supervisors if c.blocked_at is not None]
    if unreachable:
        lines.append(_t(res, cadre, "team_unreachable", names=_names(res, cadre, unreachable)))
    return [Reply("\n".join(lines), _home_buttons(res, cadre, team))]


def _home_buttons(res: Resources, cadre: Cadre, team: Team) -> tuple[tuple[Button, ...], ...]:
    tid = team.id or 0
    return (
        (
            _button(res, cadre, "btn_board", Act.BOARD, tid),
            _button(res, cadre, "btn_members", Act.MEMBERS, tid, index=0),
        ),
        (
            _button(res, cadre, "btn_invite", Act.INVITE, tid),
            _button(res, cadre, "btn_cosupervisor", Act.COSUPERVISOR, tid),
        ),
        (
            _button(res, cadre, "btn_rename", Act.RENAME, tid),
            _button(res, cadre, "btn_delete_team", Act.DELETE, tid),
        ),
        (
            _button(res, cadre, "btn_cycles", Act.CYCLES, tid),
            _button(res, cadre, "btn_step_down", Act.LEAVE, tid),
        ),
    )


def _back(res: Resources, cadre: Cadre, team: Team) -> tuple[Button, ...]:
    return (_button(res, cadre, "btn_back_team", Act.TEAM, team.id or 0),)


# Invites ----------------------------------------------------------------------------------


async def show_invite(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team
) -> list[Reply]:
    """The member invite link in force, with rotate and delete."""
    assert team.id is not None
    invite = await store.member_invite(session=session, team_id=team.id)
    tid = team.id
    if invite is None:
        return [
            Reply(
                _t(res, cadre, "invite_none", team=team.name),
                (
                    (_button(res, cadre, "btn_invite_new", Act.INVITE_ROTATE, tid),),
                    _back(res, cadre, team),
                ),
            )
        ]
    return [
        Reply(
            _t(res, cadre, "invite_show", team=team.name, link=res.links.start(invite.code)),
            (
                (
                    _button(res, cadre, "btn_invite_rotate", Act.INVITE_ROTATE, tid),
                    _button(res, cadre, "btn_invite_delete", Act.INVITE_DELETE, tid),
                ),
                _back(res, cadre, team),
            ),
        )
    ]


async def rotate_invite(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, now: datetime
) -> list[Reply]:
    """A new member link; the old one stops working at once (same transaction)."""
    invite = await _new_member_invite(session, team, cadre, now)
    return [
        Reply(
            _t(res, cadre, "invite_rotated", team=team.name, link=res.links.start(invite.code)),
            (
                (
                    _button(res, cadre, "btn_invite_rotate", Act.INVITE_ROTATE, team.id or 0),
                    _button(res, cadre, "btn_invite_delete", Act.INVITE_DELETE, team.id or 0),
                ),
                _back(res, cadre, team),
            ),
        )
    ]


async def delete_invite(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, now: datetime
) -> list[Reply]:
    """No member link any more: nobody new can join until a new one is made."""
    assert team.id is not None
    await store.revoke_invites(session=session, team_id=team.id, role=Role.MEMBER, now=now)
    return [
        Reply(
            _t(res, cadre, "invite_deleted", team=team.name),
            (
                (_button(res, cadre, "btn_invite_new", Act.INVITE_ROTATE, team.id),),
                _back(res, cadre, team),
            ),
        )
    ]


async def cosupervisor_invite(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, now: datetime
) -> list[Reply]:
    """A one-use link that makes whoever opens it a supervisor of the team. Earlier unused
    ones stop working, so at most one is out at a time."""
    assert team.id is not None
    await store.revoke_invites(session=session, team_id=team.id, role=Role.SUPERVISOR, now=now)
    invite = await store.add_invite(
        session=session,
        team_id=team.id,
        code=new_code(),
        role=Role.SUPERVISOR,
        creator=_id(cadre),
        now=now,
    )
    text = _t(res, cadre, "cosupervisor_invite", team=team.name, link=res.links.start(invite.code))
    return [Reply(text, (_back(res, cadre, team),))]


# Joining ----------------------------------------------------------------------------------


async def usable_invite(session: AsyncSession, code: str) -> tuple[Invite, Team] | None:
    """The invite and its team if the code still lets someone join."""
    if not looks_like_code(code):
        return None
    invite = await store.invite_by_code(session=session, code=code)
    if invite is None or not store.usable(invite):
        return None
    team = await session.get(Team, invite.team_id)
    return None if team is None else (invite, team)


async def offer_join(session: AsyncSession, res: Resources, cadre: Cadre, code: str) -> list[Reply]:
    """A registered person opened an invite link: show the team and ask to confirm. The code
    is kept on the person's row: the Join button is checked against it, never trusted."""
    found = await usable_invite(session, code)
    if found is None:
        cadre.pending_invite = None
        return [Reply(_t(res, cadre, "invite_invalid"))]
    cadre.pending_invite = code
    return [await join_question(session, res, cadre, *found)]


async def pending_join(session: AsyncSession, res: Resources, cadre: Cadre) -> list[Reply]:
    """After registration: the confirmation of the invite opened before it, if any."""
    if cadre.pending_invite is None:
        return []
    found = await usable_invite(session, cadre.pending_invite)
    if found is None:
        cadre.pending_invite = None
        return [Reply(_t(res, cadre, "invite_invalid"))]
    return [await join_question(session, res, cadre, *found)]


async def join_question(
    session: AsyncSession, res: Resources, cadre: Cadre, invite: Invite, team: Team
) -> Reply:
    """Join <team>? with its supervisors' names."""
    assert team.id is not None and invite.id is not None
    supervisors = [
        c for c, _ in await store.people_of(session=session, team_id=team.id, role=Role.SUPERVISOR)
    ]
    key = "join_confirm_supervisor" if invite.role == Role.SUPERVISOR else "join_confirm"
    text = _t(res, cadre, key, team=team.name, supervisors=_names(res, cadre, supervisors))
    yes = Button(res.raw(cadre.language, "btn_join", team=team.name), Action(Act.JOIN, invite.id))
    return Reply(text, ((yes, _button(res, cadre, "btn_join_no", Act.JOIN_NO)),))


async def confirm_join(
    session: AsyncSession, res: Resources, cadre: Cadre, invite_id: int, now: datetime
) -> list[Reply]:
    """Join, if the invite the button names is the one this person opened and still works."""
    code = cadre.pending_invite
    found = await usable_invite(session, code) if code else None
    if found is None or found[0].id != invite_id:
        cadre.pending_invite = None
        return [Reply(_t(res, cadre, "invite_invalid"))]
    invite, team = found
    assert team.id is not None
    cadre.pending_invite = None
    current = await store.membership(session=session, team_id=team.id, cadre_id=_id(cadre))
    if (
        current is not None
        and current.left_at is None
        and (current.role == Role.SUPERVISOR or invite.role == Role.MEMBER)
    ):
        return [Reply(_t(res, cadre, "join_already", team=team.name))]
    if (
        current is not None
        and current.left_how == LeftHow.REMOVED
        and current.left_at is not None
        and invite.created_at <= current.left_at
    ):
        # Removed by a supervisor: the link they had then does not bring them back; one
        # made since (the supervisor's choice) does.
        return [Reply(_t(res, cadre, "join_removed", team=team.name))]
    if invite.role == Role.SUPERVISOR and not await store.use_invite(
        session=session, invite_id=invite_id, cadre_id=_id(cadre), now=now
    ):
        # Someone else used this one-use link at the same moment.
        return [Reply(_t(res, cadre, "invite_invalid"))]
    await store.join(
        session=session, team_id=team.id, cadre_id=_id(cadre), role=Role(invite.role), now=now
    )
    for supervisor, _ in await store.people_of(
        session=session, team_id=team.id, role=Role.SUPERVISOR
    ):
        if supervisor.id != cadre.id:
            notify.joined(
                session, res, to=supervisor, who=cadre, team=team, role=Role(invite.role), now=now
            )
    if invite.role == Role.MEMBER:
        await cycles.welcome_member(session, res, team, cadre, now)
    else:
        await cycles.welcome_supervisor(session, res, team, cadre, now)
    key = "joined_supervisor" if invite.role == Role.SUPERVISOR else "joined"
    return [Reply(_t(res, cadre, key, team=team.name))]


def decline_join(res: Resources, cadre: Cadre) -> list[Reply]:
    """No, thanks: forget the opened invite."""
    cadre.pending_invite = None
    return [Reply(_t(res, cadre, "join_declined"))]


# Members ----------------------------------------------------------------------------------


async def members(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, page: int
) -> list[Reply]:
    """The team's current members, a page at a time, each with a Remove button."""
    assert team.id is not None
    people = await store.people_of(session=session, team_id=team.id, role=Role.MEMBER)
    if not people:
        return [Reply(_t(res, cadre, "members_none", team=team.name), (_back(res, cadre, team),))]
    pages = (len(people) + PAGE - 1) // PAGE
    page = min(max(page, 0), pages - 1)
    shown = people[page * PAGE : (page + 1) * PAGE]
    lines = [_t(res, cadre, "members_header", team=team.name, count=len(people))]
    rows: list[tuple[Button, ...]] = []
    for number, (person, membership) in enumerate(shown, start=page * PAGE + 1):
        lines.append(
            _t(
                res,
                cadre,
                "members_line",
                number=number,
                name=shortened(person.name, NAME_WIDTH),
                position=shortened(person.position, NAME_WIDTH),
                organisation=shortened(person.organisation, NAME_WIDTH),
            )
        )
        rows.append(
            (
                Button(
                    res.raw(cadre.language, "btn_remove_member", number=number, name=person.name),
                    Action(Act.REMOVE, team.id, index=membership.id or 0),
                ),
            )
        )
    rows.append(_pager(res, cadre, Act.MEMBERS, team.id, "", page, pages))
    rows.append(_back(res, cadre, team))
    return [Reply("\n".join(lines), tuple(r for r in rows if r))]


def _pager(
    res: Resources, cadre: Cadre, act: Act, target: int, arg: str, page: int, pages: int
) -> tuple[Button, ...]:
    row: list[Button] = []
    if page > 0:
        row.append(Button(_t(res, cadre, "btn_page_prev"), Action(act, target, arg, page - 1)))
    if page < pages - 1:
        row.append(Button(_t(res, cadre, "btn_page_next"), Action(act, target, arg, page + 1)))
    return tuple(row)


async def _current_member(session: AsyncSession, team: Team, membership_id: int) -> Cadre | None:
    """The member a button names by membership (membership ids are never reused, so an old
    button cannot name someone else), if they are still a member of this team."""
    row = await session.get(Membership, membership_id)
    if row is None or row.team_id != team.id or row.left_at is not None:
        return None
    if row.role != Role.MEMBER:
        return None
    return await session.get(Cadre, row.cadre_id)


async def ask_remove(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, member_id: int
) -> list[Reply]:
    """Remove <name>? Their submissions stay with the team."""
    person = await _current_member(session, team, member_id)
    if person is None:
        return [refused(res, cadre.language)]
    yes = Button(
        _t(res, cadre, "btn_remove_yes"), Action(Act.REMOVE_YES, team.id or 0, index=member_id)
    )
    no = _button(res, cadre, "btn_no", Act.MEMBERS, team.id or 0, index=0)
    return [Reply(_t(res, cadre, "remove_confirm", name=person.name, team=team.name), ((yes, no),))]


async def remove(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, member_id: int, now: datetime
) -> list[Reply]:
    """End a member's membership; they are told."""
    person = await _current_member(session, team, member_id)
    if person is None or person.id is None:
        return [refused(res, cadre.language)]
    assert team.id is not None
    await store.end_membership(
        session=session, team_id=team.id, cadre_id=person.id, how=LeftHow.REMOVED, now=now
    )
    notify.removed(session, res, to=person, team=team, by=cadre, now=now)
    done = Reply(_t(res, cadre, "removed", name=person.name, team=team.name))
    return [done, *await members(session, res, cadre, team, 0)]


# Renaming and deleting --------------------------------------------------------------------


def ask_rename(res: Resources, cadre: Cadre, team: Team) -> list[Reply]:
    """The next text is the team's new name."""
    cadre.awaiting_input = f"{AWAIT_RENAME}{team.id}"
    return [Reply(_t(res, cadre, "rename_ask", team=team.name, limit=TEAM_NAME_LIMIT))]


async def rename(
    session: AsyncSession, res: Resources, cadre: Cadre, team_id: int, text: str, now: datetime
) -> list[Reply]:
    """The new name typed after Rename (the right to rename is checked again now)."""
    team = await supervised_team(session=session, cadre_id=_id(cadre), team_id=team_id)
    if team is None:
        cadre.awaiting_input = None
        return [refused(res, cadre.language)]
    name = _clean_name(text)
    if name is None:
        return [Reply(_t(res, cadre, "team_name_bad", limit=TEAM_NAME_LIMIT))]
    cadre.awaiting_input = None
    old = team.name
    team.name, team.updated_at = name, now
    session.add(team)
    return [
        Reply(_t(res, cadre, "renamed", old=old, team=name)),
        *await home(session, res, cadre, team),
    ]


async def ask_delete(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team
) -> list[Reply]:
    """Delete <team>? says what becomes of members and submissions."""
    assert team.id is not None
    members_count = await store.count_people(session=session, team_id=team.id, role=Role.MEMBER)
    submissions = len(
        (await session.exec(select(Submission.id).where(col(Submission.team_id) == team.id))).all()
    )
    text = _t(
        res, cadre, "delete_confirm", team=team.name, members=members_count, submissions=submissions
    )
    yes = Button(
        res.raw(cadre.language, "btn_delete_yes", team=team.name),
        Action(Act.DELETE_YES, team.id),
    )
    return [Reply(text, ((yes, _button(res, cadre, "btn_no", Act.TEAM, team.id)),))]


async def delete_team(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, now: datetime
) -> list[Reply]:
    """Delete the team with its memberships, invites and submissions; everyone in it is
    told. Members keep their own interviews and drafts."""
    assert team.id is not None
    for role in (Role.SUPERVISOR, Role.MEMBER):
        for person, _ in await store.people_of(session=session, team_id=team.id, role=role):
            if person.id != cadre.id:
                notify.team_deleted(session, res, to=person, team=team, by=cadre, now=now)
    name = team.name
    await session.exec(delete(Team).where(col(Team.id) == team.id))
    return [Reply(_t(res, cadre, "team_deleted", team=name))]


# Leaving ----------------------------------------------------------------------------------


async def ask_leave(
    session: AsyncSession, res: Resources, cadre: Cadre, team_id: int
) -> list[Reply]:
    """Leave <team>? A sole supervisor must first name a successor or delete the team."""
    row = await store.membership(session=session, team_id=team_id, cadre_id=_id(cadre))
    team = await session.get(Team, team_id)
    if row is None or row.left_at is not None or team is None:
        return [refused(res, cadre.language)]
    if row.role == Role.SUPERVISOR:
        blocked = await sole_supervisor_replies(session, res, cadre, [team])
        if blocked:
            return blocked
        key = "step_down_confirm"
    else:
        key = "leave_confirm"
    yes = Button(_t(res, cadre, "btn_leave_yes"), Action(Act.LEAVE_YES, team_id))
    return [
        Reply(
            _t(res, cadre, key, team=team.name), ((yes, _button(res, cadre, "btn_no", Act.TEAMS)),)
        )
    ]


async def leave(
    session: AsyncSession, res: Resources, cadre: Cadre, team_id: int, now: datetime
) -> list[Reply]:
    """End the person's own membership; the supervisors are told."""
    row = await store.membership(session=session, team_id=team_id, cadre_id=_id(cadre))
    team = await session.get(Team, team_id)
    if row is None or row.left_at is not None or team is None:
        return [refused(res, cadre.language)]
    if row.role == Role.SUPERVISOR and (
        blocked := await sole_supervisor_replies(session, res, cadre, [team])
    ):
        return blocked
    await store.end_membership(
        session=session, team_id=team_id, cadre_id=_id(cadre), how=LeftHow.LEFT, now=now
    )
    for supervisor, _ in await store.people_of(
        session=session, team_id=team_id, role=Role.SUPERVISOR
    ):
        notify.left(session, res, to=supervisor, who=cadre, team=team, now=now)
    return [Reply(_t(res, cadre, "left_team", team=team.name))]


async def sole_supervisor_replies(
    session: AsyncSession, res: Resources, cadre: Cadre, teams: Sequence[Team]
) -> list[Reply]:
    """For each team the person supervises alone: name a successor (a button per member)
    or delete the team. Empty when there is none."""
    replies: list[Reply] = []
    for team in teams:
        assert team.id is not None
        # Locked, so that two supervisors leaving at once cannot both see the other stay.
        await store.lock_team(session=session, team_id=team.id)
        if await store.count_people(session=session, team_id=team.id, role=Role.SUPERVISOR) > 1:
            continue
        people = await store.people_of(session=session, team_id=team.id, role=Role.MEMBER)
        rows: list[tuple[Button, ...]] = [
            (
                Button(
                    res.raw(cadre.language, "btn_successor", name=person.name),
                    Action(Act.SUCCESSOR, team.id, index=membership.id or 0),
                ),
            )
            for person, membership in people[:PAGE]
        ]
        rows.append(
            (
                Button(
                    res.raw(cadre.language, "btn_delete_yes", team=team.name),
                    Action(Act.DELETE, team.id),
                ),
            )
        )
        key = "sole_supervisor" if people else "sole_supervisor_no_members"
        replies.append(Reply(_t(res, cadre, key, team=team.name), tuple(rows)))
    return replies


async def name_successor(
    session: AsyncSession, res: Resources, cadre: Cadre, team: Team, member_id: int, now: datetime
) -> list[Reply]:
    """Make a current member a supervisor of the team; they are told."""
    person = await _current_member(session, team, member_id)
    if person is None or person.id is None:
        return [refused(res, cadre.language)]
    assert team.id is not None
    await store.join(
        session=session, team_id=team.id, cadre_id=person.id, role=Role.SUPERVISOR, now=now
    )
    notify.promoted(session, res, to=person, team=team, by=cadre, now=now)
    await cycles.welcome_supervisor(session, res, team, person, now)
    return [Reply(_t(res, cadre, "successor_named", name=person.name, team=team.name))]


async def supervised_by(session: AsyncSession, cadre: Cadre) -> list[Team]:
    """The teams the person currently supervises."""
    return [
        team
        for team, _ in await store.teams_of(
            session=session, cadre_id=_id(cadre), role=Role.SUPERVISOR
        )
    ]
