"""The interview a unit of work acts on, loaded once per transaction with its questionnaire
and engine state; and the transaction's connection for the hot path's statements."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.engine import State, Status
from bot.interview.questionnaire import Questionnaire
from bot.services.resources import Resources, as_language
from bot.store.models import Cadre, Interview, InterviewStatus
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
    upgrade(res, interview)
    return await loaded_of(session, res, interview)


# An interview under way is asked with the questionnaire's current version (questions added
# since it began join it unanswered); a completed one keeps the version it was completed
# with, so it is not reopened and its drafts do not change.
_UNDER_WAY = frozenset({InterviewStatus.ACTIVE, InterviewStatus.PAUSED})


def asked_with(
    res: Resources, *, report_type: str, language: str, status: str, version: int
) -> Questionnaire:
    """The questionnaire an interview is asked with, from its stored columns."""
    current = res.catalogue.get(report_type, as_language(language, res.default_language))
    return current if status in _UNDER_WAY else current.as_of(version)


def questionnaire_of(res: Resources, interview: Interview) -> Questionnaire:
    """The questionnaire an interview is asked with."""
    return asked_with(
        res,
        report_type=interview.report_type,
        language=interview.language,
        status=interview.status,
        version=interview.questionnaire_version,
    )


def upgrade(res: Resources, interview: Interview) -> None:
    """Move an interview under way to its questionnaire's current version; written with
    the step the cadre is taking (a row loaded with the cadre is written by the unit of
    work, one the session loaded by its flush)."""
    if interview.status not in _UNDER_WAY:
        return
    version = questionnaire_of(res, interview).version
    if interview.questionnaire_version < version:
        interview.questionnaire_version = version


async def load_interview(session: AsyncSession, res: Resources, interview_id: int) -> Loaded | None:
    """An interview by id, whoever's it is: for background work that was authorised when
    it was asked for (a rewrite job), never for a press or a command."""
    interview = await session.get(Interview, interview_id)
    if interview is None or interview.id is None:
        return None
    return await loaded_of(session, res, interview)


async def loaded_of(session: AsyncSession, res: Resources, interview: Interview) -> Loaded:
    """An interview with its questionnaire and engine state."""
    assert interview.id is not None
    questionnaire = questionnaire_of(res, interview)
    answers = await load_answers(connection=await connection_of(session), interview_id=interview.id)
    editing = (
        (interview.editing_question, interview.editing_entry)
        if interview.editing_question and questionnaire.has(interview.editing_question)
        else None
    )
    current = interview.current_question
    return_to = interview.return_to
    state = State(
        status=Status(interview.status),
        current=current if current and questionnaire.has(current) else None,
        answers=answers,
        skipped=frozenset(interview.skipped),
        awaiting_follow_up=interview.awaiting_follow_up,
        editing=editing,
        return_to=return_to if return_to and questionnaire.has(return_to) else None,
    )
    return Loaded(interview, questionnaire, state)
