"""Turn the engine's outputs into replies: catalogue text, progress lines and buttons."""

from __future__ import annotations

from bot.interview import engine
from bot.interview.engine import State
from bot.interview.questionnaire import Language, Questionnaire
from bot.render.chat import utf16_len
from bot.render.messages import escape
from bot.services.replies import Act, Action, Button, Reply, series
from bot.services.resources import Resources

# An answer quoted back in a message is cut beyond this many UTF-16 units (with a note saying
# so), so that the question, hint and quote always fit Telegram's 4,096 and the message is
# never rejected. Answers may be longer: the limit is configurable and follow-ups add to them.
QUOTE_LIMIT = 2500


class Presenter:
    """Renders outputs of one interview in its language."""

    def __init__(
        self, res: Resources, questionnaire: Questionnaire, interview_id: int, state: State
    ) -> None:
        self.res = res
        self.q = questionnaire
        self.lang: Language = questionnaire.language
        self.interview_id = interview_id
        self.state = state

    def t(self, key: str, /, **params: str | int) -> str:
        return self.res.messages.text(self.lang, key, **params)

    def button(self, key: str, act: Act, arg: str = "", index: int = -1) -> Button:
        return Button(self.t(key), Action(act, self.interview_id, arg, index))

    def progress(self, question_id: str) -> str:
        return self.t(
            "progress",
            section=self.q.section_index(question_id) + 1,
            sections=len(self.q.sections),
            number=self.q.index(question_id) + 1,
            total=len(self.q.questions),
        )

    def render(self, outputs: tuple[engine.Output, ...]) -> list[Reply]:
        """Replies for the outputs, in order."""
        return [self.render_one(output) for output in outputs]

    def render_one(self, output: engine.Output) -> Reply:
        match output:
            case engine.Ask(qid):
                return self.ask(qid)
            case engine.FollowUp(qid, lack):
                follow_up = self.q.question(qid).follow_up_for(lack)
                return Reply(
                    self.t("follow_up", follow_up=follow_up),
                    ((self.button("btn_keep", Act.KEEP, qid),),),
                )
            case engine.Collected(qid, count):
                return Reply(self.t("collected", count=count), self.nav(qid, can_next=True))
            case engine.EditPrompt(qid, entry):
                return self.edit_prompt(qid, entry)
            case engine.Notice(key, params):
                return Reply(self.t(key, **params))
            case engine.Finished():
                return Reply(self.t("finished"))
            case engine.Completed():
                return Reply(
                    self.t("completed"),
                    ((self.button("btn_draft", Act.DRAFT), self.button("btn_new", Act.NEW)),),
                )
        raise AssertionError(f"unhandled output {output!r}")  # pragma: no cover

    def ask(self, qid: str) -> Reply:
        """A question with its section, progress, hint and what is already answered."""
        question = self.q.question(qid)
        section = self.q.sections[self.q.section_index(qid)]
        parts = [
            self.t(
                "question",
                section_title=section.title,
                progress=self.progress(qid),
                text=question.text,
            )
        ]
        if question.hint:
            parts.append(self.t("hint", hint=question.hint))
        if question.multiple:
            parts.append(self.t("multiple_hint"))
        entries = self.state.entries(qid)
        if entries and question.multiple:
            parts.append(self.t("current_entries", count=len(entries)))
        elif entries:
            parts.append(
                self.res.messages.raw(self.lang, "current_answer", answer=self.quote(entries[0]))
            )
        return Reply("\n\n".join(parts), self.nav(qid, can_next=bool(entries)))

    def quote(self, answer: str) -> str:
        """The answer as HTML to quote back: whole, or its beginning and a note on the cut."""
        if utf16_len(answer) <= QUOTE_LIMIT:
            return escape(answer)
        shown = answer[:QUOTE_LIMIT]
        while (excess := utf16_len(shown) - QUOTE_LIMIT) > 0:  # astral characters count twice
            shown = shown[:-excess]
        return escape(shown) + self.t(
            "quote_cut", shown=f"{len(shown):,}", total=f"{len(answer):,}"
        )

    def nav(self, qid: str, *, can_next: bool) -> tuple[tuple[Button, ...], ...]:
        """Back / Skip / Next, as far as each applies to the question."""
        question = self.q.question(qid)
        row: list[Button] = []
        if self.q.before(qid) is not None:
            row.append(self.button("btn_back", Act.BACK, qid))
        if question.skippable and not can_next:
            row.append(self.button("btn_skip", Act.SKIP, qid))
        if can_next:
            row.append(self.button("btn_next", Act.NEXT, qid))
        return (tuple(row),) if row else ()

    def edit_prompt(self, qid: str, entry: int | None) -> Reply:
        label = self.q.question(qid).label
        entries = self.state.entries(qid)
        current = entries[0] if entry is None and entries else None
        if entry is not None and entry < len(entries):
            current = entries[entry]
        if current is not None:
            text = self.res.messages.raw(
                self.lang, "edit_prompt_current", label=escape(label), answer=self.quote(current)
            )
        elif entry is not None:
            text = self.t("edit_prompt_add", label=label)
        else:
            text = self.t("edit_prompt", label=label)
        return Reply(text, ((self.button("btn_edit_cancel", Act.EDIT_CANCEL),),))

    def edit_list(self) -> Reply:
        """Every answered question as a button, in questionnaire order."""
        rows = tuple(
            (Button(q.label, Action(Act.EDIT_QUESTION, self.interview_id, q.id)),)
            for q in self.q.questions
            if self.state.entries(q.id) or q.id in self.state.skipped
        )
        if not rows:
            return Reply(self.t("edit_nothing"))
        return Reply(self.t("edit_list"), rows)

    def entry_list(self, qid: str) -> Reply:
        """The entries of a list question, to pick one to replace (or add one)."""
        rows = [
            (
                Button(
                    self.res.messages.raw(
                        self.lang, "btn_edit_entry", number=i + 1, preview=_preview(entry)
                    ),
                    Action(Act.EDIT_ENTRY, self.interview_id, qid, i),
                ),
            )
            for i, entry in enumerate(self.state.entries(qid))
        ]
        count = len(self.state.entries(qid))
        if count < self.q.question(qid).max_entries:
            rows.append((self.button("btn_edit_add", Act.EDIT_ENTRY, qid, count),))
        rows.append((self.button("btn_edit_cancel", Act.EDIT_CANCEL),))
        return Reply(self.t("edit_pick_entry", label=self.q.question(qid).label), tuple(rows))

    def status(self, status_key: str, period: str) -> Reply:
        """Where the interview stands and what is still unanswered."""
        answered = [q for q in self.q.questions if self.state.entries(q.id)]
        missing = [
            q
            for q in self.q.questions
            if not self.state.entries(q.id) and q.id not in self.state.skipped
        ]
        lines = [
            self.t(
                "status",
                report=self.q.name,
                period=period,
                state=self.t(status_key),
                answered=len(answered),
                total=len(self.q.questions),
                skipped=len(self.state.skipped),
            )
        ]
        if self.state.current is not None:
            lines.append(
                self.res.messages.raw(
                    self.lang, "status_at", progress=self.progress(self.state.current)
                )
            )
        lines.append(
            self.t(
                "status_missing",
                labels=series(self.lang, (q.label for q in missing)) or self.t("status_none"),
            )
        )
        buttons = tuple(
            (Button(q.label, Action(Act.JUMP, self.interview_id, q.id)),)
            for q in missing
            if q.id != self.state.current
        )
        if self.state.current is not None:
            buttons = ((self.button("btn_continue", Act.JUMP, self.state.current),), *buttons)
        return Reply("\n".join(lines), buttons)


def _preview(text: str, width: int = 24) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
