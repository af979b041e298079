"""Polishing a draft's wording with a language model, grounded in the cadre's answers.

The cadre asks from the draft ("Polish the wording", naming the endpoint's host); a job row
is written and the background rewriter (`bot.telegram.rewriter`) takes it section by
section: each section's answers go to the model, the prose that comes back is checked
against them (`bot.rewrite.facts`), retried once with the violations named, and otherwise
the section keeps the cadre's own wording. Both wordings are kept; the cadre can switch any
section back, and a draft shows a polished section only while its answers are the ones it
was made from.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.engine import State
from bot.interview.questionnaire import Questionnaire, Section
from bot.services.loading import Loaded, load_interview
from bot.services.replies import Act, Action, Button, Reply
from bot.services.resources import Resources
from bot.store import rewrites as store
from bot.store.models import Cadre, Interview, RewriteJob, SectionWording, Wording

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SectionSource:
    """What a section's rewrite is made from: its answered questions, in order."""

    section: Section
    answers: tuple[tuple[str, tuple[str, ...]], ...]  # (question label, entries)

    @property
    def text(self) -> str:
        """The section's answers as one text, the fact check's ground truth."""
        return "\n".join(entry for _, entries in self.answers for entry in entries)


def sources(questionnaire: Questionnaire, state: State) -> list[SectionSource]:
    """The sections that have answers, in report order."""
    found = []
    for section in questionnaire.sections:
        answers = tuple(
            (q.label, state.entries(q.id)) for q in section.questions if state.entries(q.id)
        )
        if answers:
            found.append(SectionSource(section, answers))
    return found


def source_hash(source: SectionSource, cadre: Cadre, period: str, language: str) -> str:
    """A fingerprint of everything a section's rewrite depends on: a polished text is
    shown only while the answers, the author and the period are still these."""
    material = [
        language,
        period,
        cadre.name,
        cadre.position,
        cadre.organisation,
        source.section.id,
        [[label, list(entries)] for label, entries in source.answers],
    ]
    return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode()).hexdigest()


def _fresh(
    wordings: Mapping[str, SectionWording],
    cadre: Cadre,
    interview: Interview,
    questionnaire: Questionnaire,
    state: State,
) -> dict[str, SectionWording]:
    """The polished outcomes still valid for the answers as they stand, by section."""
    fresh = {}
    for source in sources(questionnaire, state):
        row = wordings.get(source.section.id)
        digest = source_hash(source, cadre, interview.period, questionnaire.language)
        if row is not None and row.polished and row.source_hash == digest:
            fresh[source.section.id] = row
    return fresh


async def polished_for(
    session: AsyncSession,
    cadre: Cadre,
    interview: Interview,
    questionnaire: Questionnaire,
    state: State,
) -> dict[str, str]:
    """The sections a draft shows in polished wording (valid and chosen), by section id."""
    assert interview.id is not None
    wordings = await store.latest_wordings(session, interview.id)
    if not wordings:
        return {}
    fresh = _fresh(wordings, cadre, interview, questionnaire, state)
    return {section_id: row.text for section_id, row in fresh.items() if row.chosen}


def wording_of(
    questionnaire: Questionnaire, state: State, polished: Mapping[str, str]
) -> dict[str, str]:
    """Which wording each answered section is in, as a submitted version records it."""
    return {
        source.section.id: Wording.POLISHED if source.section.id in polished else Wording.OWN
        for source in sources(questionnaire, state)
    }


def can_polish(res: Resources, questionnaire: Questionnaire, state: State) -> bool:
    """Whether a draft offers polishing: an endpoint is configured and there are answers."""
    return res.rewrite_host is not None and bool(sources(questionnaire, state))


def polish_button(res: Resources, language: str, interview_id: int) -> Button:
    """The button under a draft; it names where the text goes."""
    assert res.rewrite_host is not None
    return Button(
        res.t(language, "btn_polish", host=res.rewrite_host), Action(Act.POLISH, interview_id)
    )


# The cadre's presses ----------------------------------------------------------------------


async def start(
    session: AsyncSession, res: Resources, cadre: Cadre, loaded: Loaded, now: datetime
) -> list[Reply]:
    """Polish the wording of the cadre's current interview: a job is queued (unless one is
    under way) and the reply is the message that will show its progress."""
    lang = loaded.questionnaire.language
    if res.rewrite_host is None:
        return [Reply(res.t(lang, "polish_unavailable"))]
    found = sources(loaded.questionnaire, loaded.state)
    if not found:
        return [Reply(res.t(lang, "polish_nothing"))]
    running = await store.open_job(session, loaded.id)
    if running is not None:
        return [Reply(res.t(lang, "polish_busy"))]
    assert cadre.id is not None
    job = store.add_job(
        session,
        interview_id=loaded.id,
        cadre_id=cadre.id,
        chat_id=cadre.chat_id,
        sections=[source.section.id for source in found],
        now=now,
    )
    await session.flush()
    assert job.id is not None
    return [Reply(progress_text(res, lang, done=0, total=len(found)), rewrite_job=job.id)]


def progress_text(res: Resources, language: str, *, done: int, total: int) -> str:
    """The progress message, as sections finish."""
    return res.t(language, "polish_progress", done=done, total=total, host=res.rewrite_host or "")


async def choose(
    session: AsyncSession,
    res: Resources,
    cadre: Cadre,
    loaded: Loaded,
    *,
    section_id: str,
    polished: bool,
) -> list[Reply]:
    """Switch one section between the cadre's own wording and the polished one; the reply
    is the summary again, showing the switch."""
    lang = loaded.questionnaire.language
    wordings = await store.latest_wordings(session, loaded.id)
    fresh = _fresh(wordings, cadre, loaded.interview, loaded.questionnaire, loaded.state)
    row = fresh.get(section_id)
    if row is None:
        # No polished text for that section (never made, or its answers changed since).
        return [Reply(res.t(lang, "polish_gone"))]
    row.chosen = polished
    session.add(row)
    await session.flush()
    job = await store.job(session, row.job_id)
    assert job is not None
    return [
        summary(
            res,
            loaded.questionnaire,
            job,
            await store.outcomes(session, row.job_id),
            fresh,
            loaded.id,
        )
    ]


def summary(
    res: Resources,
    questionnaire: Questionnaire,
    job: RewriteJob,
    outcomes: Mapping[str, SectionWording],
    fresh: Mapping[str, SectionWording],
    interview_id: int,
) -> Reply:
    """What the job came to, section by section, with a switch per polished section and a
    button for the draft. A section's answers changed since are said to be so."""
    lang = questionnaire.language
    titles = {section.id: section.title for section in questionnaire.sections}
    rows = [outcomes[sid] for sid in job.sections if sid in outcomes and sid in titles]
    if (
        rows
        and not any(row.polished for row in rows)
        and len({tuple(r.problems) for r in rows}) == 1
    ):
        # Every section kept for one reason (the endpoint down, say): one line says it all.
        text = res.t(lang, "polish_failed_all", why=_reasons(lang, rows[0].problems))
        view = Button(res.t(lang, "btn_polish_view"), Action(Act.DRAFT, interview_id))
        return Reply(text, ((view,),))
    lines = [res.t(lang, "polish_done", host=res.rewrite_host or "")]
    buttons: list[tuple[Button, ...]] = []
    for row in rows:
        title = titles[row.section_id]
        current = fresh.get(row.section_id)
        if not row.polished:
            why = _reasons(lang, row.problems)
            lines.append(res.t(lang, "polish_line_kept", title=title, why=why))
        elif current is None or current.id != row.id:
            lines.append(res.t(lang, "polish_line_stale", title=title))
        elif current.chosen:
            lines.append(res.t(lang, "polish_line_polished", title=title))
            action = Action(Act.WORDING, interview_id, row.section_id, 0)
            buttons.append((Button(res.t(lang, "btn_polish_own", title=title), action),))
        else:
            lines.append(res.t(lang, "polish_line_own", title=title))
            action = Action(Act.WORDING, interview_id, row.section_id, 1)
            buttons.append((Button(res.t(lang, "btn_polish_use", title=title), action),))
    lines.append(res.t(lang, "polish_footer"))
    buttons.append((Button(res.t(lang, "btn_polish_view"), Action(Act.DRAFT, interview_id)),))
    return Reply("\n".join(lines), tuple(buttons))


def _reasons(language: str, problems: Sequence[str]) -> str:
    """Why a section kept the cadre's wording, in one run of text."""
    return ("；" if language == "zh" else "; ").join(problems)


async def summary_of(session: AsyncSession, res: Resources, job: RewriteJob) -> Reply | None:
    """The summary of a finished job as it stands now; None if the interview is gone."""
    loaded = await load_interview(session, res, job.interview_id)
    cadre = await session.get(Cadre, job.cadre_id)
    if loaded is None or cadre is None or job.id is None:
        return None
    wordings = await store.latest_wordings(session, loaded.id)
    outcomes = await store.outcomes(session, job.id)
    return summary(
        res,
        loaded.questionnaire,
        job,
        outcomes,
        _fresh(wordings, cadre, loaded.interview, loaded.questionnaire, loaded.state),
        loaded.id,
    )


async def gave_up(session: AsyncSession, res: Resources, job: RewriteJob) -> Reply:
    """What the cadre is told of a job that kept failing."""
    cadre = await session.get(Cadre, job.cadre_id)
    language = cadre.language if cadre is not None else res.default_language
    return Reply(res.t(language, "polish_gave_up"))
