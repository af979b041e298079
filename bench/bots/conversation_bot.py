"""A conventional python-telegram-bot questionnaire bot: ConversationHandler, answers in
`user_data`, PicklePersistence, `run_polling`. The end-to-end bench's yardstick.

The same interview shape as ours: /start, language buttons, name, post, organisation,
report-type buttons, then every question of prompts/annual/zh/questions.yaml (lists take
entries until Next), and at the end the draft as chat messages and a .docx. Callback data
uses our `v1:<act>:<id>:<arg>:<index>` shape so the bench's script drives both.

    TELEGRAM_BOT_TOKEN=… TELEGRAM_API_BASE_URL=… PICKLE_FILE=conv.pickle \\
        python bench/bots/conversation_bot.py
"""

from __future__ import annotations

import io
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))  # run as a script

from docx import Document  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

from bench.bots.launch import builder, poll  # noqa: E402
from bot.interview.questionnaire import load_catalogue  # noqa: E402

QUESTIONNAIRE = load_catalogue(ROOT / "prompts").get("annual", "zh")
QUESTIONS = QUESTIONNAIRE.questions
LANG, NAME, POST, ORG, TYPE, QUESTION = range(6)
NUMERALS = "一二三四五六七八九十"
LIMIT = 4096
Context = ContextTypes.DEFAULT_TYPE


def buttons(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of inline buttons (label, callback data)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


def data(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    return context.user_data


async def start(update: Update, context: Context) -> int:
    """Greet and ask for the language."""
    assert update.message is not None
    await update.message.reply_text(
        "您好！我是述职助手。请选择语言 / Choose a language:",
        reply_markup=buttons(("中文", "v1:lang:0:zh:-1"), ("English", "v1:lang:0:en:-1")),
    )
    return LANG


async def language(update: Update, context: Context) -> int:
    """Language chosen; ask for the name."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    await query.answer()
    data(context)["language"] = query.data.split(":")[3]
    await context.bot.send_message(update.effective_chat.id, "请输入您的姓名：")
    return NAME


async def name(update: Update, context: Context) -> int:
    """Name given; ask for the post."""
    assert update.message is not None
    data(context)["name"] = update.message.text
    await update.message.reply_text("您的职务是？")
    return POST


async def post(update: Update, context: Context) -> int:
    """Post given; ask for the organisation."""
    assert update.message is not None
    data(context)["post"] = update.message.text
    await update.message.reply_text("您所在的单位是？")
    return ORG


async def organisation(update: Update, context: Context) -> int:
    """Registered; offer the report types."""
    assert update.message is not None
    user = data(context)
    user["organisation"] = update.message.text
    await update.message.reply_text(
        f"{user['name']}，登记完成：{user['post']}，{user['organisation']}。请选择要写的报告：",
        reply_markup=buttons(
            ("年度述职报告", "v1:type:0:annual:-1"), ("述职述廉报告", "v1:type:0:integrity:-1")
        ),
    )
    return TYPE


async def report_type(update: Update, context: Context) -> int:
    """Report chosen; the first question."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    user = data(context)
    user["question"], user["answers"] = 0, {}
    await ask(context, update.effective_chat.id)
    return QUESTION


async def ask(context: Context, chat_id: int) -> None:
    """Send the current question with its progress line, hint and Skip button."""
    index = data(context)["question"]
    question = QUESTIONS[index]
    section = QUESTIONNAIRE.section_index(question.id)
    text = (
        f"{QUESTIONNAIRE.sections[section].title}\n"
        f"第 {section + 1}/{len(QUESTIONNAIRE.sections)} 部分 · 第 {index + 1}/{len(QUESTIONS)} 题"
        f"\n\n{question.text}\n\n示例：{question.hint or ''}"
    )
    markup = buttons(("跳过", f"v1:skip:0:{question.id}:-1")) if question.skippable else None
    await context.bot.send_message(chat_id, text, reply_markup=markup)


async def answer(update: Update, context: Context) -> int:
    """An answer: kept; a list question asks for more, otherwise the next question."""
    assert update.message is not None and update.message.text is not None
    user = data(context)
    question = QUESTIONS[user["question"]]
    entries = user["answers"].setdefault(question.id, [])
    entries.append(update.message.text)
    if question.multiple and len(entries) < question.max_entries:
        await update.message.reply_text(
            f"已记下第 {len(entries)} 条。可以继续补充，或点“下一题”。",
            reply_markup=buttons(("下一题", f"v1:next:0:{question.id}:-1")),
        )
        return QUESTION
    return await advance(update, context)


async def pressed_next(update: Update, context: Context) -> int:
    """Next (or Skip): on to the following question."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    return await advance(update, context)


async def advance(update: Update, context: Context) -> int:
    """The next question, or the draft after the last one."""
    assert update.effective_chat is not None
    user = data(context)
    user["question"] += 1
    if user["question"] < len(QUESTIONS):
        await ask(context, update.effective_chat.id)
        return QUESTION
    await send_draft(context, update.effective_chat.id)
    return ConversationHandler.END


def draft_paragraphs(user: dict[str, Any]) -> list[str]:
    """The report: title, salutation, a numbered section per part, the signature."""
    paragraphs = [f"{QUESTIONNAIRE.name}", "尊敬的各位领导、同志们："]
    paragraphs.append(
        f"我是{user['organisation']}{user['post']}{user['name']}，现将本年度工作报告如下。"
    )
    for i, section in enumerate(QUESTIONNAIRE.sections):
        paragraphs.append(f"{NUMERALS[i]}、{section.title}")
        for question in section.questions:
            paragraphs += user["answers"].get(question.id, ["【待补充】"])
    paragraphs += ["以上报告，请予审议。", f"{user['name']}", date.today().isoformat()]
    return paragraphs


async def send_draft(context: Context, chat_id: int) -> None:
    """The draft as messages under Telegram's limit, then as a .docx."""
    user = data(context)
    paragraphs = draft_paragraphs(user)
    chunk = ""
    for paragraph in paragraphs:
        if chunk and len(chunk) + len(paragraph) + 2 > LIMIT:
            await context.bot.send_message(chat_id, chunk)
            chunk = ""
        chunk = f"{chunk}\n\n{paragraph}" if chunk else paragraph
    await context.bot.send_message(chat_id, chunk)
    document = Document()
    document.add_heading(paragraphs[0], level=0)
    for paragraph in paragraphs[1:]:
        if paragraph[:2] in {f"{n}、" for n in NUMERALS}:
            document.add_heading(paragraph, level=1)
        else:
            document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    await context.bot.send_document(
        chat_id, out.getvalue(), filename=f"述职报告_{user['name']}.docx", caption="草稿已生成。"
    )


async def status(update: Update, context: Context) -> None:
    """Where the cadre is."""
    assert update.message is not None
    user = data(context)
    if "question" not in user:
        await update.message.reply_text("您还没有开始述职访谈。发送 /start 开始。")
        return
    index = min(user["question"], len(QUESTIONS) - 1)
    await update.message.reply_text(f"当前：第 {index + 1}/{len(QUESTIONS)} 题")


async def help_text(update: Update, context: Context) -> None:
    """What the bot does."""
    assert update.message is not None
    await update.message.reply_text(
        "我会逐题询问您一年来的工作，最后生成述职报告草稿。/start 开始，/status 查看进度。"
    )


def main() -> None:
    persistence = PicklePersistence(filepath=os.environ.get("PICKLE_FILE", "conversation.pickle"))
    app = builder().persistence(persistence).build()
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                LANG: [CallbackQueryHandler(language, pattern=r"^v1:lang:")],
                NAME: [MessageHandler(text, name)],
                POST: [MessageHandler(text, post)],
                ORG: [MessageHandler(text, organisation)],
                TYPE: [CallbackQueryHandler(report_type, pattern=r"^v1:type:")],
                QUESTION: [
                    MessageHandler(text, answer),
                    CallbackQueryHandler(pressed_next, pattern=r"^v1:(next|skip):"),
                ],
            },
            fallbacks=[],
            name="interview",
            persistent=True,
        )
    )
    app.add_handler(CommandHandler("status", status))
    app.add_handler(CommandHandler("help", help_text))
    poll(app)


if __name__ == "__main__":
    main()
