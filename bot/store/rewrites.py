"""Rewrite jobs and their sections' outcomes: what the background rewriter claims, what it
records section by section, and what a draft reads to show a section polished."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import RewriteJob, RewriteState, SectionWording

OPEN_STATES = (RewriteState.QUEUED.value, RewriteState.RUNNING.value, RewriteState.DONE.value)


async def open_job(session: AsyncSession, interview_id: int) -> RewriteJob | None:
    """The interview's rewrite job that has not yet been reported to the cadre, if any."""
    statement = (
        select(RewriteJob)
        .where(
            col(RewriteJob.interview_id) == interview_id,
            col(RewriteJob.state).in_(OPEN_STATES),
        )
        .order_by(col(RewriteJob.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


def add_job(
    session: AsyncSession,
    *,
    interview_id: int,
    cadre_id: int,
    chat_id: int,
    sections: Sequence[str],
    now: datetime,
) -> RewriteJob:
    """A queued job in the caller's transaction: it runs only if that commits."""
    job = RewriteJob(
        interview_id=interview_id,
        cadre_id=cadre_id,
        chat_id=chat_id,
        sections=list(sections),
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    return job


async def claim(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
) -> list[RewriteJob]:
    """Up to `limit` jobs to work on (queued, or running or done under a lease that ran
    out: their worker is gone), leased to the caller and committed. Another rewriter
    skips rows this one has locked (PostgreSQL); SQLite serialises writers anyway."""
    if limit <= 0:
        return []
    statement = (
        select(RewriteJob)
        .where(
            col(RewriteJob.state).in_(OPEN_STATES),
            or_(col(RewriteJob.claimed_until).is_(None), col(RewriteJob.claimed_until) <= now),
        )
        .order_by(col(RewriteJob.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    jobs = list((await session.exec(statement)).all())
    for job in jobs:
        if job.state == RewriteState.QUEUED:
            job.state = RewriteState.RUNNING
        job.claimed_until = now + lease
        job.attempts += 1
        job.updated_at = now
    await session.commit()
    return jobs


async def release_all(session: AsyncSession, *, now: datetime) -> int:
    """Make every leased job claimable now: called by a rewriter that has just become the
    only one (it holds the polling lease), so a predecessor's jobs resume at once instead
    of when their lease runs out."""
    result = await session.exec(
        update(RewriteJob)
        .where(col(RewriteJob.state).in_(OPEN_STATES), col(RewriteJob.claimed_until).is_not(None))
        .values(claimed_until=None, updated_at=now)
    )
    await session.commit()
    return int(result.rowcount or 0)


async def job(session: AsyncSession, job_id: int) -> RewriteJob | None:
    """A job by id."""
    return await session.get(RewriteJob, job_id)


async def outcomes(session: AsyncSession, job_id: int) -> dict[str, SectionWording]:
    """The sections a job has finished, by section id."""
    statement = select(SectionWording).where(col(SectionWording.job_id) == job_id)
    return {row.section_id: row for row in (await session.exec(statement)).all()}


async def record(session: AsyncSession, outcome: SectionWording, *, lease_until: datetime) -> bool:
    """Store a section's outcome and extend the job's lease, committed. False if the
    section was already recorded (a worker that lost its lease finished it too)."""
    session.add(outcome)
    await session.exec(
        update(RewriteJob)
        .where(col(RewriteJob.id) == outcome.job_id)
        .values(claimed_until=lease_until, updated_at=outcome.created_at)
    )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def set_state(
    session: AsyncSession, job_id: int, state: RewriteState, *, now: datetime
) -> None:
    """Move a job on (done: every section has an outcome; told: the cadre has the summary),
    committed."""
    values: dict[str, object] = {"state": state.value, "updated_at": now}
    if state is RewriteState.TOLD:
        values["claimed_until"] = None
    await session.exec(update(RewriteJob).where(col(RewriteJob.id) == job_id).values(**values))
    await session.commit()


async def set_message(session: AsyncSession, job_id: int, message_id: int) -> None:
    """Remember the message that shows the job's progress, committed."""
    await session.exec(
        update(RewriteJob).where(col(RewriteJob.id) == job_id).values(message_id=message_id)
    )
    await session.commit()


async def latest_wordings(session: AsyncSession, interview_id: int) -> dict[str, SectionWording]:
    """Each section's newest outcome for the interview (a later job supersedes an earlier
    one), by section id."""
    statement = (
        select(SectionWording)
        .where(col(SectionWording.interview_id) == interview_id)
        .order_by(col(SectionWording.id))
    )
    return {row.section_id: row for row in (await session.exec(statement)).all()}
