"""The interview a unit of work acts on, loaded once per transaction with its questionnaire
and engine state; and the transaction's connection for the hot path's statements."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.engine import State, Status
from bot.interview.questionnaire import Questionnaire
from bot.services.resources import Resources, as_language
from bot.store.models import Cadre, Interview
from bot.store.queries import current_interview, load_answers


@dataclass
class Loaded:
    """An interview with its questionnaire and engine state."""

    interview: Interview
    questionnaire: Questionnaire
    state: State

    @property
    def id(self) -> int:
        assert self.interview.id is not None
        return self.interview.id


_CURRENT = "debrief.current_interview"
_CONNECTION = "debrief.connection"


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The transaction's connection, for the statements of the hot path: asked of the
    session once per unit of work (asking costs as much as a small statement)."""
    connection: AsyncConnection | None = session.info.get(_CONNECTION)
    if connection is None:
        connection = session.info[_CONNECTION] = await session.connection()
    return connection


def forget_connection(session: AsyncSession) -> None:
    """The transaction ended: its connection is not to be used again."""
    session.info.pop(_CONNECTION, None)


def remember(session: AsyncSession, interview: Interview | None) -> None:
    """Keep the interview loaded with the cadre for this transaction (saves a query)."""
    session.info[_CURRENT] = interview


async def load(session: AsyncSession, res: Resources, cadre: Cadre) -> Loaded | None:
    """The cadre's current interview (the one loaded with them, if any), or None."""
    assert cadre.id is not None
    if _CURRENT in session.info:
        interview = session.info[_CURRENT]
    else:
        interview = await current_interview(session=session, cadre_id=cadre.id)
    if interview is None or interview.id is None:
        return None
    questionnaire = res.catalogue.get(
        interview.report_type, as_language(interview.language, res.default_language)
    )
    answers = await load_answers(connection=await connection_of(session), interview_id=interview.id)
    editing = (
        (interview.editing_question, interview.editing_entry)
        if interview.editing_question and questionnaire.has(interview.editing_question)
        else None
    )
    current = interview.current_question
    state = State(
        status=Status(interview.status),
        current=current if current and questionnaire.has(current) else None,
        answers=answers,
        skipped=frozenset(interview.skipped),
        awaiting_follow_up=interview.awaiting_follow_up,
        editing=editing,
    )
    return Loaded(interview, questionnaire, state)
