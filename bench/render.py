"""How long one draft takes to lay out: template -> blocks -> chat messages + .docx.

A 40-answer annual report (every question answered, list questions with several items), in
Chinese and English, timed over repeated runs; beside it, one bare python-telegram-bot echo
update on the lean fake transport, so the figure also reads as a ratio.

    python bench/render.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bench.interview import TOKEN, Updates  # noqa: E402
from bench.transport import BenchRequest  # noqa: E402
from bot.interview.questionnaire import Questionnaire, load_catalogue  # noqa: E402
from bot.render.chat import to_chat_messages  # noqa: E402
from bot.render.docx import to_docx  # noqa: E402
from bot.render.report import Author, make_environment, render_report  # noqa: E402

PROMPTS = ROOT / "prompts"
ZH = "本年度牵头完成重点项目12个，较上年增长15%，覆盖全市38所学校，惠及师生2.3万人，获省级表彰1项。"
EN = (
    "In 2026 I led 12 priority projects, 15% more than last year, covering 38 schools and "
    "23,000 pupils and staff, and the team won one provincial award."
)


def forty_answers(q: Questionnaire) -> dict[str, tuple[str, ...]]:
    """Every question answered; list questions share out the rest up to 40 entries."""
    answers = {question.id: (ZH if q.language == "zh" else EN,) for question in q.questions}
    lists = [question.id for question in q.questions if question.multiple]
    extra = 40 - len(answers)
    for i in range(extra):
        qid = lists[i % len(lists)]
        answers[qid] = (*answers[qid], answers[qid][0])
    return answers


def time_draft(q: Questionnaire, runs: int) -> tuple[list[float], int, int]:
    env = make_environment(PROMPTS)
    answers = forty_answers(q)
    author = Author(name="张伟", position="副局长", organisation="市教育局")
    times, size, messages = [], 0, 0
    for _ in range(runs):
        started = time.perf_counter()
        document = render_report(
            env,
            q,
            answers=answers,
            skipped=set(),
            author=author,
            period="2026",
            today=date(2026, 11, 25),
        )
        chat = to_chat_messages(document)
        docx = to_docx(document)
        times.append(time.perf_counter() - started)
        size, messages = len(docx), len(chat)
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    catalogue = load_catalogue(PROMPTS)
    bare = statistics.median(asyncio.run(time_bare_echo(max(args.runs, 200)))) * 1000
    print(f"bare echo update: {bare:.2f} ms (median)")
    for language in ("zh", "en"):
        q = catalogue.get("annual", language)  # type: ignore[arg-type]
        time_draft(q, 3)  # warm up: templates compiled, base document cached
        times, size, messages = time_draft(q, args.runs)
        median, best = statistics.median(times) * 1000, min(times) * 1000
        print(
            f"draft {language}: 40 answers -> {messages} chat messages + .docx "
            f"({size // 1024} KB): median {median:.1f} ms, best {best:.1f} ms "
            f"= {median / bare:.0f}x a bare echo update"
        )


if __name__ == "__main__":
    main()
