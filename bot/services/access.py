"""Who may touch what. Every team, submission and version a person reaches through a button
or a command is looked up here, through that person's own current memberships: callback
data only says what was asked for, never that it is allowed.

A refusal is one message whatever the reason: a target that does not exist and one that is
someone else's get the same words, so a forged button learns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.replies import Reply
from bot.services.resources import Resources
from bot.store.models import Membership, Role, Submission, SubmissionVersion, Team


@dataclass(frozen=True)
class Reviewed:
    """A submitted version with its submission and team."""

    version: SubmissionVersion
    submission: Submission
    team: Team


def refused(res: Resources, language: str) -> Reply:
    """The one answer to anything a person may not do or that is not there."""
    return Reply(res.t(language, "not_available"))


async def supervised_team(*, session: AsyncSession, cadre_id: int, team_id: int) -> Team | None:
    """The team, if the person is one of its current supervisors."""
    statement = (
        select(Team)
        .join(Membership, col(Membership.team_id) == col(Team.id))
        .where(
            col(Team.id) == team_id,
            col(Membership.cadre_id) == cadre_id,
            col(Membership.role) == Role.SUPERVISOR,
            col(Membership.left_at).is_(None),
        )
    )
    return (await session.exec(statement)).first()


async def _version(
    session: AsyncSession, version_id: int
) -> tuple[SubmissionVersion, Submission, Team] | None:
    statement = (
        select(SubmissionVersion, Submission, Team)
        .join(Submission, col(Submission.id) == col(SubmissionVersion.submission_id))
        .join(Team, col(Team.id) == col(Submission.team_id))
        .where(col(SubmissionVersion.id) == version_id)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else (row[0], row[1], row[2])


async def version_for_supervisor(
    *, session: AsyncSession, cadre_id: int, version_id: int
) -> Reviewed | None:
    """A submitted version, if the person currently supervises the team it went to and did
    not write it (a member made supervisor does not decide on their own report)."""
    found = await _version(session, version_id)
    if found is None:
        return None
    version, submission, team = found
    if submission.cadre_id == cadre_id:
        return None
    assert team.id is not None
    if await supervised_team(session=session, cadre_id=cadre_id, team_id=team.id) is None:
        return None
    return Reviewed(version, submission, team)


async def version_for_reader(
    *, session: AsyncSession, cadre_id: int, version_id: int
) -> tuple[Reviewed, bool] | None:
    """A submitted version for its author or a current supervisor of its team; the flag
    says whether the reader supervises (and so may decide)."""
    found = await _version(session, version_id)
    if found is None:
        return None
    version, submission, team = found
    assert team.id is not None
    if submission.cadre_id == cadre_id:
        return Reviewed(version, submission, team), False  # the author reads, never decides
    if await supervised_team(session=session, cadre_id=cadre_id, team_id=team.id) is not None:
        return Reviewed(version, submission, team), True
    return None


async def submission_for_reader(
    *, session: AsyncSession, cadre_id: int, submission_id: int
) -> tuple[Submission, Team] | None:
    """A submission for its author or a current supervisor of its team."""
    statement = (
        select(Submission, Team)
        .join(Team, col(Team.id) == col(Submission.team_id))
        .where(col(Submission.id) == submission_id)
    )
    row = (await session.exec(statement)).first()
    if row is None:
        return None
    submission, team = row
    assert team.id is not None
    if submission.cadre_id == cadre_id or (
        await supervised_team(session=session, cadre_id=cadre_id, team_id=team.id) is not None
    ):
        return submission, team
    return None
