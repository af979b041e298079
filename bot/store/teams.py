"""Data access for teams, memberships and invites: who belongs where, in which role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import Cadre, Invite, LeftHow, Membership, Role, Team


async def create_team(
    *, session: AsyncSession, name: str, creator: Cadre, now: datetime, timezone: str
) -> Team:
    """A new team with its creator as supervisor, its deadlines in `timezone` (flushed,
    not committed)."""
    assert creator.id is not None
    team = Team(name=name, created_by=creator.id, created_at=now, updated_at=now, timezone=timezone)
    session.add(team)
    await session.flush()
    assert team.id is not None
    session.add(
        Membership(team_id=team.id, cadre_id=creator.id, role=Role.SUPERVISOR, joined_at=now)
    )
    await session.flush()
    return team


async def membership(*, session: AsyncSession, team_id: int, cadre_id: int) -> Membership | None:
    """The person's membership row in a team, current or ended."""
    statement = select(Membership).where(
        col(Membership.team_id) == team_id, col(Membership.cadre_id) == cadre_id
    )
    return (await session.exec(statement)).first()


async def teams_of(
    *, session: AsyncSession, cadre_id: int, role: Role | None = None
) -> list[tuple[Team, Membership]]:
    """The teams a person currently belongs to (in `role`, or any), oldest first."""
    statement = (
        select(Team, Membership)
        .join(Membership, col(Membership.team_id) == col(Team.id))
        .where(col(Membership.cadre_id) == cadre_id, col(Membership.left_at).is_(None))
        .order_by(col(Team.id))
    )
    if role is not None:
        statement = statement.where(col(Membership.role) == role)
    return [(team, member) for team, member in (await session.exec(statement)).all()]


async def people_of(
    *, session: AsyncSession, team_id: int, role: Role, current: bool = True
) -> list[tuple[Cadre, Membership]]:
    """The team's supervisors or members with their membership rows, in joining order;
    `current=False` lists those who have left too."""
    statement = (
        select(Cadre, Membership)
        .join(Membership, col(Membership.cadre_id) == col(Cadre.id))
        .where(col(Membership.team_id) == team_id, col(Membership.role) == role)
        .order_by(col(Membership.joined_at), col(Membership.id))
    )
    if current:
        statement = statement.where(col(Membership.left_at).is_(None))
    return [(cadre, member) for cadre, member in (await session.exec(statement)).all()]


async def count_people(*, session: AsyncSession, team_id: int, role: Role) -> int:
    """How many current supervisors or members a team has."""
    statement = select(func.count()).where(
        col(Membership.team_id) == team_id,
        col(Membership.role) == role,
        col(Membership.left_at).is_(None),
    )
    return int((await session.exec(statement)).one())


async def join(
    *, session: AsyncSession, team_id: int, cadre_id: int, role: Role, now: datetime
) -> Membership:
    """Make the person a current member (or supervisor) of the team: a new row, or the
    earlier one taken up again."""
    existing = await membership(session=session, team_id=team_id, cadre_id=cadre_id)
    if existing is None:
        existing = Membership(team_id=team_id, cadre_id=cadre_id, role=role, joined_at=now)
    else:
        existing.role = role
        existing.joined_at = now
        existing.left_at = None
        existing.left_how = None
    session.add(existing)
    await session.flush()
    return existing


async def end_membership(
    *, session: AsyncSession, team_id: int, cadre_id: int, how: LeftHow, now: datetime
) -> bool:
    """End a current membership (kept as a former one); False if there was none."""
    result = await session.exec(
        update(Membership)
        .where(
            col(Membership.team_id) == team_id,
            col(Membership.cadre_id) == cadre_id,
            col(Membership.left_at).is_(None),
        )
        .values(left_at=now, left_how=how)
    )
    return bool(result.rowcount)


# Invites ----------------------------------------------------------------------------------


async def invite_by_code(*, session: AsyncSession, code: str) -> Invite | None:
    """The invite with this code, whatever its state."""
    return (await session.exec(select(Invite).where(col(Invite.code) == code))).first()


async def member_invite(*, session: AsyncSession, team_id: int) -> Invite | None:
    """The team's member invite in force, if any."""
    statement = (
        select(Invite)
        .where(
            col(Invite.team_id) == team_id,
            col(Invite.role) == Role.MEMBER,
            col(Invite.revoked_at).is_(None),
        )
        .order_by(col(Invite.id).desc())
    )
    return (await session.exec(statement)).first()


async def revoke_invites(*, session: AsyncSession, team_id: int, role: Role, now: datetime) -> None:
    """Stop every invite of the team for this role from working."""
    await session.exec(
        update(Invite)
        .where(
            col(Invite.team_id) == team_id,
            col(Invite.role) == role,
            col(Invite.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )


async def add_invite(
    *, session: AsyncSession, team_id: int, code: str, role: Role, creator: int, now: datetime
) -> Invite:
    """Store a new invite code (flushed)."""
    invite = Invite(team_id=team_id, code=code, role=role, created_by=creator, created_at=now)
    session.add(invite)
    await session.flush()
    return invite


def usable(invite: Invite | None) -> bool:
    """Whether an invite still lets someone join: not revoked, and a one-use one unused."""
    return invite is not None and invite.revoked_at is None and invite.used_at is None


async def names(*, session: AsyncSession, cadre_ids: Sequence[int]) -> dict[int, str]:
    """People's names by id (those who asked to be forgotten are absent)."""
    if not cadre_ids:
        return {}
    statement = select(Cadre.id, Cadre.name).where(col(Cadre.id).in_(list(cadre_ids)))
    rows = (await session.exec(statement)).all()
    return {cadre_id: name for cadre_id, name in rows if cadre_id is not None}


async def use_invite(
    *, session: AsyncSession, invite_id: int, cadre_id: int, now: datetime
) -> bool:
    """Spend a one-use invite: a conditional update, so that of two people using it at the
    same moment only one gets it. False if it was already used or revoked."""
    result = await session.exec(
        update(Invite)
        .where(
            col(Invite.id) == invite_id,
            col(Invite.used_at).is_(None),
            col(Invite.revoked_at).is_(None),
        )
        .values(used_by=cadre_id, used_at=now)
    )
    return bool(result.rowcount)


async def lock_team(*, session: AsyncSession, team_id: int) -> None:
    """Hold the team's row until the transaction ends (PostgreSQL; SQLite's writers are
    one at a time already), for decisions about its supervisors."""
    await session.exec(select(Team.id).where(col(Team.id) == team_id).with_for_update())
