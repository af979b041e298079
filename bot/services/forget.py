"""/forget_me: delete everything the bot holds about a person, after a confirmation that
says what happens to reports already submitted (they go too) and to copies already in
supervisors' chats (they stay: a bot can delete its messages only within 48 hours).

A team is never left without a supervisor: a person who supervises a team alone first names
a successor or deletes the team.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import notify
from bot.services.replies import Act, Action, Button, Reply, series
from bot.services.resources import Resources
from bot.services.submissions import count_submissions
from bot.services.teams import sole_supervisor_replies, supervised_by
from bot.store import teams as team_store
from bot.store.models import (
    Answer,
    Cadre,
    Cycle,
    CycleExemption,
    Draft,
    InboxUpdate,
    Interview,
    Invite,
    Membership,
    Outbox,
    Reminder,
    ReviewDecision,
    RewriteJob,
    Role,
    SectionWording,
    Submission,
    Team,
)


def _id(cadre: Cadre) -> int:
    assert cadre.id is not None
    return cadre.id


async def _successor_first(session: AsyncSession, res: Resources, cadre: Cadre) -> list[Reply]:
    """What must happen before the person can go: a successor for each team they supervise
    alone (empty when none)."""
    blocked = await sole_supervisor_replies(
        session, res, cadre, await supervised_by(session, cadre)
    )
    return [Reply(res.t(cadre.language, "forget_successor_first")), *blocked] if blocked else []


async def ask(session: AsyncSession, res: Resources, cadre: Cadre) -> list[Reply]:
    """What deleting means for this person, and Yes / No; or what must happen first."""
    if blocked := await _successor_first(session, res, cadre):
        return blocked
    memberships = await team_store.teams_of(session=session, cadre_id=_id(cadre))
    teams = series(cadre.language, (team.name for team, _ in memberships))
    teams = teams or res.t(cadre.language, "nobody")
    submissions = await count_submissions(session, _id(cadre))
    text = res.t(cadre.language, "forget_confirm", teams=teams, submissions=submissions)
    yes = Button(res.t(cadre.language, "btn_forget_yes"), Action(Act.FORGET))
    no = Button(res.t(cadre.language, "btn_forget_no"), Action(Act.FORGET_NO))
    return [Reply(text, ((yes,), (no,)))]


async def forget(session: AsyncSession, res: Resources, cadre: Cadre, now: datetime) -> list[Reply]:
    """Delete the person: profile, interviews, answers, drafts, memberships, submissions
    (with their versions, decisions and notifications), failed updates they sent. Their
    decisions on other people's reports stay, signed "a former supervisor"."""
    if blocked := await _successor_first(session, res, cadre):
        return blocked  # a team lost its other supervisor since the question was asked
    person = _id(cadre)
    for team, _ in await team_store.teams_of(session=session, cadre_id=person):
        assert team.id is not None
        for supervisor, _ in await team_store.people_of(
            session=session, team_id=team.id, role=Role.SUPERVISOR
        ):
            if supervisor.id != person:
                notify.forgotten(session, res, to=supervisor, who=cadre, team=team, now=now)
    await session.exec(
        update(ReviewDecision)
        .where(col(ReviewDecision.decided_by) == person)
        .values(decided_by=None)
    )
    await session.exec(
        update(Submission).where(col(Submission.decided_by) == person).values(decided_by=None)
    )
    await session.exec(update(Team).where(col(Team.created_by) == person).values(created_by=None))
    await session.exec(
        update(Invite).where(col(Invite.created_by) == person).values(created_by=None)
    )
    await session.exec(update(Invite).where(col(Invite.used_by) == person).values(used_by=None))
    # Children first: SQLite enforces the foreign keys, and the order keeps both databases
    # from depending on cascades.
    await session.exec(delete(Outbox).where(col(Outbox.recipient_id) == person))
    # Messages about them that others have had (or could not get) go too; those still
    # waiting are delivered first (a decision its author must hear of), then pruned.
    await session.exec(
        delete(Outbox).where(
            col(Outbox.about_id) == person,
            or_(col(Outbox.sent_at).is_not(None), col(Outbox.failed_at).is_not(None)),
        )
    )
    await session.exec(delete(Submission).where(col(Submission.cadre_id) == person))
    await session.exec(delete(Reminder).where(col(Reminder.recipient_id) == person))
    await session.exec(delete(CycleExemption).where(col(CycleExemption.cadre_id) == person))
    await session.exec(
        update(CycleExemption)
        .where(col(CycleExemption.exempted_by) == person)
        .values(exempted_by=None)
    )
    await session.exec(update(Cycle).where(col(Cycle.created_by) == person).values(created_by=None))
    await session.exec(delete(Membership).where(col(Membership.cadre_id) == person))
    interviews = select(Interview.id).where(col(Interview.cadre_id) == person)
    await session.exec(
        delete(SectionWording).where(col(SectionWording.interview_id).in_(interviews))
    )
    await session.exec(delete(RewriteJob).where(col(RewriteJob.cadre_id) == person))
    await session.exec(delete(Answer).where(col(Answer.interview_id).in_(interviews)))
    await session.exec(delete(Draft).where(col(Draft.interview_id).in_(interviews)))
    await session.exec(delete(Interview).where(col(Interview.cadre_id) == person))
    await _forget_failed_updates(session, cadre.telegram_user_id)
    await session.exec(delete(Cadre).where(col(Cadre.id) == person))
    return [Reply(res.t(cadre.language, "forgotten"))]


async def _forget_failed_updates(session: AsyncSession, user_id: int) -> None:
    """Updates set aside as failed are kept 30 days for the operator; the person's go now.
    (Failed updates are few: reading them is cheap.)"""
    rows = (
        await session.exec(
            select(InboxUpdate.update_id, InboxUpdate.payload).where(
                col(InboxUpdate.failed_at).is_not(None)
            )
        )
    ).all()
    theirs = [update_id for update_id, payload in rows if _sender(payload) == user_id]
    if theirs:
        await session.exec(delete(InboxUpdate).where(col(InboxUpdate.update_id).in_(theirs)))


def _sender(payload: str) -> int | None:
    try:
        update = json.loads(payload)
    except ValueError:
        return None
    for kind in ("message", "edited_message", "callback_query"):
        sender = (update.get(kind) or {}).get("from") or {}
        if "id" in sender:
            return int(sender["id"])
    return None
