"""Buttons and typed inputs outside the interview: teams, invites, the board, reviews.

Every button's target is looked up through the presser's own memberships (`access`); a
target that is missing or someone else's gets the same refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import board, cycles, deadlines, exports, reviews, submissions, teams
from bot.services.access import refused, supervised_team
from bot.services.replies import Act, Action, PendingExport, Reply
from bot.services.resources import Resources
from bot.store.models import Cadre, Team

Out = Reply | PendingExport

# Acts whose target is a team the presser must supervise, and what each does.
_TeamAct = Callable[
    [AsyncSession, Resources, Cadre, Team, Action, datetime], Awaitable[Sequence[Out]]
]
_SUPERVISOR_ACTS: dict[Act, _TeamAct] = {
    Act.TEAM: lambda s, r, c, t, a, n: teams.home(s, r, c, t),
    Act.INVITE: lambda s, r, c, t, a, n: teams.show_invite(s, r, c, t),
    Act.INVITE_ROTATE: lambda s, r, c, t, a, n: teams.rotate_invite(s, r, c, t, n),
    Act.INVITE_DELETE: lambda s, r, c, t, a, n: teams.delete_invite(s, r, c, t, n),
    Act.MEMBERS: lambda s, r, c, t, a, n: teams.members(s, r, c, t, a.index),
    Act.REMOVE: lambda s, r, c, t, a, n: teams.ask_remove(s, r, c, t, a.index),
    Act.REMOVE_YES: lambda s, r, c, t, a, n: teams.remove(s, r, c, t, a.index, n),
    Act.COSUPERVISOR: lambda s, r, c, t, a, n: teams.cosupervisor_invite(s, r, c, t, n),
    Act.DELETE: lambda s, r, c, t, a, n: teams.ask_delete(s, r, c, t),
    Act.DELETE_YES: lambda s, r, c, t, a, n: teams.delete_team(s, r, c, t, n),
    Act.SUCCESSOR: lambda s, r, c, t, a, n: teams.name_successor(s, r, c, t, a.index, n),
    Act.MEMBER: lambda s, r, c, t, a, n: board.member(s, r, c, t, a.arg, a.index),
    Act.EXPORT: lambda s, r, c, t, a, n: exports.request(s, r, c, t, a.arg),
    Act.CYCLES: lambda s, r, c, t, a, n: cycles.cycles_page(s, r, c, t),
    Act.CYCLE_NEW: lambda s, r, c, t, a, n: cycles.start(s, r, c, t, n),
    Act.TEAM_ZONE: lambda s, r, c, t, a, n: cycles.ask_zone(s, r, c, t),
    Act.TEAM_DAYS_OFF: lambda s, r, c, t, a, n: cycles.set_days_off(s, r, c, t, a.arg, n),
    Act.TEAM_OVERDUE: lambda s, r, c, t, a, n: cycles.set_overdue(s, r, c, t, a.arg, n),
}

SUPERVISION_ACTS = frozenset(
    {
        *_SUPERVISOR_ACTS,
        *cycles.CYCLE_ACTS,
        Act.SNOOZE,
        Act.TEAM_NEW,
        Act.TEAMS,
        Act.RENAME,
        Act.BOARD,
        Act.LEAVE,
        Act.LEAVE_YES,
        Act.JOIN,
        Act.JOIN_NO,
        Act.OPEN,
        Act.APPROVE,
        Act.RETURN,
        Act.HISTORY,
    }
)


def _id(cadre: Cadre) -> int:
    assert cadre.id is not None
    return cadre.id


async def press(
    session: AsyncSession, res: Resources, cadre: Cadre, action: Action, now: datetime
) -> Sequence[Out]:
    """A button of the team side, checked against what the presser may touch."""
    act = action.act
    match act:
        case Act.TEAM_NEW:
            return await teams.new_team(session, res, cadre, "", now)
        case Act.TEAMS:
            return await teams.overview(session, res, cadre)
        case Act.JOIN:
            return await teams.confirm_join(session, res, cadre, action.target, now)
        case Act.JOIN_NO:
            return teams.decline_join(res, cadre)
        case Act.LEAVE:
            return await teams.ask_leave(session, res, cadre, action.target)
        case Act.LEAVE_YES:
            return await teams.leave(session, res, cadre, action.target, now)
        case Act.OPEN:
            return await reviews.open_version(session, res, cadre, action.target)
        case Act.APPROVE:
            return await reviews.approve(session, res, cadre, action.target, now)
        case Act.RETURN:
            return await reviews.ask_comment(session, res, cadre, action.target)
        case Act.HISTORY:
            return await submissions.history_of(session, res, cadre, action.target)
        case Act.SNOOZE:
            return await deadlines.snooze(session, res, cadre, action.target, now)
    if act in cycles.CYCLE_ACTS:
        return await cycles.press(session, res, cadre, action, now)
    team = await supervised_team(session=session, cadre_id=_id(cadre), team_id=action.target)
    if team is None:
        return [refused(res, cadre.language)]
    if act is Act.RENAME:
        return teams.ask_rename(res, cadre, team)
    if act is Act.BOARD:
        if not action.arg:
            return await board.picker(session, res, cadre, team, now)
        return await board.board(session, res, cadre, team, action.arg, action.index)
    handler = _SUPERVISOR_ACTS.get(act)
    if handler is None:
        return [refused(res, cadre.language)]
    return await handler(session, res, cadre, team, action, now)


async def typed(
    session: AsyncSession, res: Resources, cadre: Cadre, text: str, now: datetime
) -> Sequence[Out] | None:
    """A text while the person owes an input of the team side (a comment, a team's name);
    None when they owe none, and the text belongs to the interview."""
    mark = cadre.awaiting_input
    if mark is None:
        return None
    if (version_id := reviews.comment_target(cadre)) is not None:
        return await reviews.comment(session, res, cadre, version_id, text, now)
    if mark == teams.AWAIT_TEAM_NAME:
        return await teams.new_team(session, res, cadre, text, now)
    if mark.startswith(teams.AWAIT_RENAME) and mark.removeprefix(teams.AWAIT_RENAME).isdigit():
        team_id = int(mark.removeprefix(teams.AWAIT_RENAME))
        return await teams.rename(session, res, cadre, team_id, text, now)
    if (replies := await cycles.typed(session, res, cadre, text, now)) is not None:
        return replies
    cadre.awaiting_input = None  # a mark this version does not know: drop it
    return None


def owed_prompt(res: Resources, cadre: Cadre) -> list[Reply]:
    """What the next text will be taken as, said again (after a sticker, say)."""
    mark = cadre.awaiting_input or ""
    if reviews.comment_target(cadre) is not None:
        placeholder = res.t(cadre.language, "comment_placeholder")
        return [Reply(res.t(cadre.language, "comment_waiting"), force_reply=placeholder)]
    if mark == teams.AWAIT_TEAM_NAME or mark.startswith(teams.AWAIT_RENAME):
        return [Reply(res.t(cadre.language, "name_waiting", limit=teams.TEAM_NAME_LIMIT))]
    return cycles.owed_prompt(res, cadre)
