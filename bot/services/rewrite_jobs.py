"""What the background rewriter does with one job: the requests of the sections still to
do, and each section's rewrite, checked against its answers.

Apart from `bot.services.rewriting` (what the cadre sees and presses) so that the language
model's client and the fact check are loaded only where polishing is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openai import AsyncOpenAI
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.interview.questionnaire import Questionnaire
from bot.render.report import post_in_unit
from bot.rewrite.facts import check
from bot.rewrite.model import ModelFailed, RewritePrompts, SectionRequest, rewrite_section
from bot.services.loading import load_interview
from bot.services.resources import Resources
from bot.services.rewriting import SectionSource, source_hash, sources
from bot.store import rewrites as store
from bot.store.models import Cadre, RewriteJob

# Failures of the endpoint itself: the next section would fail the same way, so the job
# stops asking and every section left keeps the cadre's wording.
ENDPOINT_FAILURES = frozenset({"timeout", "rate_limited", "server_error", "refused", "unreachable"})


@dataclass(frozen=True)
class Work:
    """One job as the rewriter needs it: the requests of the sections still to do."""

    job: RewriteJob
    questionnaire: Questionnaire
    cadre: Cadre
    todo: tuple[tuple[SectionRequest, SectionSource, str], ...]  # request, source, hash
    done: int


async def prepare(session: AsyncSession, res: Resources, job: RewriteJob) -> Work | None:
    """The sections of a job still to rewrite, from the answers as they are now; None if
    the interview or its author is gone."""
    loaded = await load_interview(session, res, job.interview_id)
    cadre = await session.get(Cadre, job.cadre_id)
    if loaded is None or cadre is None:
        return None
    finished = await store.outcomes(session, job.id or 0)
    by_id = {source.section.id: source for source in sources(loaded.questionnaire, loaded.state)}
    todo = []
    for section_id in job.sections:
        source = by_id.get(section_id)
        if source is None or section_id in finished:
            continue
        request = SectionRequest(
            language=loaded.questionnaire.language,
            report_name=loaded.questionnaire.name,
            section_title=source.section.title,
            answers=source.answers,
            name=cadre.name,
            # The post as the report says it, with its unit once (not 某局某局副局长).
            post=post_in_unit(cadre.position, cadre.organisation, loaded.questionnaire.language),
            organisation=cadre.organisation,
            period=loaded.interview.period,
        )
        digest = source_hash(source, cadre, loaded.interview.period, loaded.questionnaire.language)
        todo.append((request, source, digest))
    return Work(job, loaded.questionnaire, cadre, tuple(todo), len(finished))


@dataclass(frozen=True)
class Rewritten:
    """A section's outcome: the polished text, or none and the one-line reasons."""

    text: str | None
    problems: tuple[str, ...]
    endpoint_failed: bool = False


async def rewrite_checked(
    client: AsyncOpenAI,
    model: str,
    request: SectionRequest,
    source: SectionSource,
    res: Resources,
    *,
    prompts: RewritePrompts | None = None,
) -> Rewritten:
    """Ask for the section's prose and check it against the answers; once more with the
    violations named; else the cadre's own wording stands, with the reasons."""
    lang = request.language
    named: Sequence[str] = ()
    violations: list[str] = []
    for _ in range(2):
        try:
            text = await rewrite_section(client, model, request, violations=named, prompts=prompts)
        except ModelFailed as failure:
            why = res.t(lang, f"polish_why_{failure.kind}")
            return Rewritten(None, (why,), endpoint_failed=failure.kind in ENDPOINT_FAILURES)
        found = check(
            source.text,
            text,
            name=request.name,
            post=request.post,
            organisation=request.organisation,
            period=request.period,
            language=lang,
        )
        if not found:
            return Rewritten(text, ())
        violations = [violation.describe(lang) for violation in found]
        named = violations
    return Rewritten(None, tuple(violations[:3]))
