"""How long one draft takes to lay out, and what polishing a section costs us beside the model.

    python bench/render.py [--runs 50]        (or: python -m bench.render)

A 40-answer annual report (every question answered, list questions with several items), in
Chinese and English, timed over repeated runs; beside it, one bare python-telegram-bot echo
update on the lean fake transport, so the figure also reads as a ratio.

- the draft as the bot lays it out without the rewrite: template -> blocks -> chat messages
  + .docx, median and p95 (target: 50 ms);
- our own work per polished section, the model's time left out (target: 5 ms): the request
  and its prompt messages built, the model's reply tidied (`tidy`) and fact-checked
  (`facts.check`), and the polished draft assembled (the draft with every section polished
  minus the plain one, timed in pairs, per section; counted as 0 when the polished draft
  is the quicker). The reply is the fake server's `faithful` one (every entry kept), so the
  check passes and there is no retry. The fact check's numeral cache is warm after the
  first run, as in a running bot;
- beside it, `rewrite_checked` end to end per section against the fake OpenAI server (real
  HTTP, the real client, model time ~0), and the same HTTP exchange with the reply canned:
  together they bound what the client and HTTP add.

Wall-clock figures: on a shared machine the medians and p95 follow its load (printed first);
the best run is the figure to compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from jinja2 import Environment  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bench.interview import TOKEN, Updates  # noqa: E402
from bench.transport import BenchRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.interview.engine import State, Status  # noqa: E402
from bot.interview.questionnaire import Questionnaire, load_catalogue  # noqa: E402
from bot.render.chat import to_chat_messages  # noqa: E402
from bot.render.docx import to_docx  # noqa: E402
from bot.render.report import Author, make_environment, post_in_unit, render_report  # noqa: E402
from bot.rewrite.facts import check  # noqa: E402
from bot.rewrite.model import (  # noqa: E402
    TEMPERATURE,
    RewritePrompts,
    SectionRequest,
    make_client,
    max_tokens_for,
    shipped_prompts,
    tidy,
)
from bot.services.resources import Resources, load_resources  # noqa: E402
from bot.services.rewrite_jobs import rewrite_checked  # noqa: E402
from bot.services.rewriting import SectionSource, sources  # noqa: E402
from tests.fakes.openai_server import ChatRequest, FakeOpenAI, faithful  # noqa: E402

PROMPTS = ROOT / "prompts"
ZH = "本年度牵头完成重点项目12个，较上年增长15%，覆盖全市38所学校，惠及师生2.3万人，获省级表彰1项。"
EN = (
    "In 2026 I led 12 priority projects, 15% more than last year, covering 38 schools and "
    "23,000 pupils and staff, and the team won one provincial award."
)
AUTHOR = Author(name="张伟", position="副局长", organisation="市教育局")
PERIOD = "2026"
TODAY = date(2026, 11, 25)
MODEL = "bench-model"
DRAFT_TARGET_MS = 50
SECTION_TARGET_MS = 5


def forty_answers(q: Questionnaire) -> dict[str, tuple[str, ...]]:
    """Every question answered; list questions share out the rest up to 40 entries."""
    answers: dict[str, tuple[str, ...]] = {
        question.id: (ZH if q.language == "zh" else EN,) for question in q.questions
    }
    lists = [question.id for question in q.questions if question.multiple]
    extra = 40 - len(answers)
    for i in range(extra):
        qid = lists[i % len(lists)]
        answers[qid] = (*answers[qid], answers[qid][0])
    return answers


def draft(
    env: Environment, q: Questionnaire, polished: Mapping[str, str] | None = None
) -> tuple[float, int, int]:
    """One draft laid out: its seconds, the .docx's bytes and the chat messages."""
    answers = forty_answers(q)
    started = time.perf_counter()
    document = render_report(
        env,
        q,
        answers=answers,
        skipped=set(),
        author=AUTHOR,
        period=PERIOD,
        today=TODAY,
        polished=polished,
    )
    chat = to_chat_messages(document)
    docx = to_docx(document)
    return time.perf_counter() - started, len(docx), len(chat)


def time_draft(q: Questionnaire, runs: int) -> tuple[list[float], int, int]:
    env = make_environment(PROMPTS)
    times, size, messages = [], 0, 0
    for _ in range(runs):
        seconds, size, messages = draft(env, q)
        times.append(seconds)
    return times, size, messages


async def time_bare_echo(runs: int) -> list[float]:
    app = ApplicationBuilder().token(TOKEN).request(BenchRequest()).updater(None).build()

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    app.add_handler(MessageHandler(filters.TEXT, echo))
    times = []
    async with app:
        user = Updates(1)
        for _ in range(runs):
            update = Update.de_json(user.text("本年度完成重点项目12个"), app.bot)
            started = time.perf_counter()
            await app.process_update(update)
            times.append(time.perf_counter() - started)
    return times


# The rewrite ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One section to polish: its request, its answers and what the fake model answers."""

    request: SectionRequest
    source: SectionSource
    reply: str  # the model's raw text: every entry kept (the fake server's `faithful`)


def section_request(q: Questionnaire, source: SectionSource) -> SectionRequest:
    """The request as `rewrite_jobs.prepare` builds it."""
    return SectionRequest(
        language=q.language,
        report_name=q.name,
        section_title=source.section.title,
        answers=source.answers,
        name=AUTHOR.name,
        post=post_in_unit(AUTHOR.position, AUTHOR.organisation, q.language),
        organisation=AUTHOR.organisation,
        period=PERIOD,
    )


def cases(q: Questionnaire, prompts: RewritePrompts) -> list[Case]:
    """Every answered section of the 40-answer report, in report order."""
    state = State(status=Status.COMPLETED, current=None, answers=forty_answers(q))
    found = []
    for source in sources(q, state):
        request = section_request(q, source)
        found.append(Case(request, source, faithful({"messages": prompts.messages(request)})))
    return found


@dataclass(frozen=True)
class Overhead:
    """Our own work of polishing, per run: each part's seconds per section."""

    sections: int
    build: list[float]  # SectionRequest + prompt messages + token budget
    tidy: list[float]
    check: list[float]
    assembly: list[float]  # (polished draft - plain draft) / sections, timed in pairs
    heaviest: str  # the section with the most answer text, and its build + tidy + check
    heaviest_parts: list[float]

    def own(self, pick: Callable[[list[float]], float] = statistics.median) -> float:
        """The headline: build, tidy and check (their medians, or best) summed, plus the
        assembly's median when it costs anything: a polished section has fewer blocks than
        its questions and items, so it usually saves time."""
        assembly = max(0.0, statistics.median(self.assembly))
        return sum(pick(part) for part in (self.build, self.tidy, self.check)) + assembly


def time_overhead(q: Questionnaire, runs: int, prompts: RewritePrompts) -> Overhead:
    """Our part of polishing every section, timed part by part, with the model's reply given."""
    env = make_environment(PROMPTS)
    found = cases(q, prompts)
    polished = {
        case.source.section.id: tidy(case.reply, case.source.section.title) for case in found
    }
    heaviest = max(range(len(found)), key=lambda i: len(found[i].source.text))
    build, tidied, checked, assembly, heaviest_parts = [], [], [], [], []
    for run in range(runs):
        building = tidying = checking = 0.0
        for i, case in enumerate(found):
            started = time.perf_counter()
            request = section_request(q, case.source)
            prompts.messages(request)
            max_tokens_for(request)
            built = time.perf_counter()
            text = tidy(case.reply, request.section_title)
            done_tidy = time.perf_counter()
            violations = check(
                case.source.text,
                text,
                name=request.name,
                post=request.post,
                organisation=request.organisation,
                period=request.period,
                language=request.language,
            )
            done = time.perf_counter()
            assert not violations, f"{case.source.section.id}: {violations}"  # no retry
            building += built - started
            tidying += done_tidy - built
            checking += done - done_tidy
            if i == heaviest:
                heaviest_parts.append(done - started)
        build.append(building / len(found))
        tidied.append(tidying / len(found))
        checked.append(checking / len(found))
        # In pairs, in turn first, so that neither draft always runs on the warmer cache.
        if run % 2:
            plain, with_prose = draft(env, q)[0], draft(env, q, polished)[0]
        else:
            with_prose, plain = draft(env, q, polished)[0], draft(env, q)[0]
        assembly.append((with_prose - plain) / len(found))
    source = found[heaviest].source
    entries = sum(len(entries) for _, entries in source.answers)
    return Overhead(
        sections=len(found),
        build=build,
        tidy=tidied,
        check=checked,
        assembly=assembly,
        heaviest=f"{source.section.id}, {entries} entries",
        heaviest_parts=heaviest_parts,
    )


async def time_round_trips(
    q: Questionnaire, runs: int, prompts: RewritePrompts, res: Resources
) -> tuple[list[float], list[float]]:
    """Per run, seconds per section: `rewrite_checked` against the fake server answering
    `faithful`; and the same HTTP exchange (same request, same reply) with the reply canned."""
    found = cases(q, prompts)
    exchanges = [(prompts.messages(case.request), max_tokens_for(case.request)) for case in found]
    canned = {str(prompts.messages(case.request)[1]["content"]): case.reply for case in found}
    end_to_end, round_trip = [], []
    async with FakeOpenAI() as server:
        settings = Settings(_env_file=None, llm_base_url=server.base_url, llm_model=MODEL)
        async with make_client(settings) as client:
            for run in range(runs + 1):  # the first run opens the connection: not counted
                server.reply_with(faithful)
                started = time.perf_counter()
                for case in found:
                    outcome = await rewrite_checked(
                        client, MODEL, case.request, case.source, res, prompts=prompts
                    )
                    assert outcome.text is not None, outcome.problems
                whole = time.perf_counter() - started
                server.reply_with(lambda body: canned[ChatRequest(body).user])
                started = time.perf_counter()
                for messages, max_tokens in exchanges:
                    await client.chat.completions.create(
                        model=MODEL,
                        messages=messages,
                        temperature=TEMPERATURE,
                        max_tokens=max_tokens,
                    )
                bare = time.perf_counter() - started
                if run:
                    end_to_end.append(whole / len(found))
                    round_trip.append(bare / len(found))
    return end_to_end, round_trip


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    catalogue = load_catalogue(PROMPTS)
    prompts = shipped_prompts()
    res = load_resources(PROMPTS, default_language="zh", zone="Asia/Shanghai", answer_limit=4096)
    bare = statistics.median(asyncio.run(time_bare_echo(max(args.runs, 200)))) * 1000
    # The figures are wall-clock: on a shared machine, medians and p95 follow its load.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"bare echo update: {bare:.2f} ms (median)")
    overheads: dict[str, Overhead] = {}
    trips: dict[str, tuple[list[float], list[float]]] = {}
    for language in ("zh", "en"):
        q = catalogue.get("annual", language)
        time_draft(q, 3)  # warm up: templates compiled, base document cached
        times, size, messages = time_draft(q, args.runs)
        median, best = statistics.median(times) * 1000, min(times) * 1000
        print(
            f"draft {language}: 40 answers -> {messages} chat messages + .docx "
            f"({size // 1024} KB): median {median:.1f} ms, p95 {p95(times) * 1000:.1f} ms "
            f"(target <= {DRAFT_TARGET_MS} ms), best {best:.1f} ms "
            f"= {median / bare:.0f}x a bare echo update"
        )
        overheads[language] = time_overhead(q, args.runs, prompts)
        trips[language] = asyncio.run(time_round_trips(q, args.runs, prompts, res))
    print_rewrite(overheads, trips, args.runs)


Figures = tuple[float | None, float | None, float | None]
"""Median, p95 and best, in seconds; None where a figure has no such statistic."""


def spread(times: list[float]) -> Figures:
    return statistics.median(times), p95(times), min(times)


def cells(figures: Figures) -> str:
    """The figures in ms, in the table's columns."""
    return "".join(
        f"{'':>{width}}" if figure is None else f"{figure * 1000:>{width}.2f}"
        for figure, width in zip(figures, (8, 7, 7), strict=True)
    )


def print_rewrite(
    overheads: Mapping[str, Overhead],
    trips: Mapping[str, tuple[list[float], list[float]]],
    runs: int,
) -> None:
    """The rewrite's table: ms per section, median, p95 and best over the runs, per language."""
    rows: dict[str, list[Figures]] = {}
    for language in ("zh", "en"):
        overhead, (whole, bare) = overheads[language], trips[language]
        figures = {
            "request + prompt messages": spread(overhead.build),
            "tidy the reply": spread(overhead.tidy),
            "fact check (check)": spread(overhead.check),
            "assembly (polished - plain draft)": (
                statistics.median(overhead.assembly),
                p95(overhead.assembly),
                None,  # the best of a difference is its noise
            ),
            f"own overhead (target <= {SECTION_TARGET_MS} ms)": (
                overhead.own(),
                None,
                overhead.own(min),
            ),
            "  heaviest section: build + tidy + check": spread(overhead.heaviest_parts),
            "rewrite_checked end to end, fake server": spread(whole),
            "  the same HTTP exchange, reply canned": spread(bare),
            "  difference: own work + the fake's reply": (
                statistics.median(whole) - statistics.median(bare),
                None,
                min(whole) - min(bare),
            ),
        }
        for label, figure in figures.items():
            rows.setdefault(label, []).append(figure)
    zh, en = overheads["zh"], overheads["en"]
    print(
        f"\nrewrite, ms per section beside the model's time "
        f"(zh {zh.sections} sections, en {en.sections}; {runs} runs)"
    )
    print(f"{'':44}{'zh':^22}{'en':^22}")
    print(f"{'':44}" + f"{'median':>8}{'p95':>7}{'best':>7}" * 2)
    for label, (zh_figures, en_figures) in rows.items():
        print(f"  {label:<42}{cells(zh_figures)}{cells(en_figures)}")
    verdict = "within" if max(zh.own(), en.own()) * 1000 <= SECTION_TARGET_MS else "OVER"
    print(
        f"own overhead: {verdict} target; the parts summed, the assembly's median counted as 0 "
        f"when negative\n(a polished section lays out fewer blocks than its questions and items)"
        f"; heaviest section: {zh.heaviest} (zh), {en.heaviest} (en)"
    )


if __name__ == "__main__":
    main()
