"""The interview state machine: a state and an event give a new state and what to say.

Pure: no I/O, no clock, no Telegram. The service layer loads the state from the database,
calls `step`, stores the result and turns the outputs into replies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.interview.questionnaire import Question, Questionnaire
from bot.interview.substance import Checks, Lack, lacks_substance
from bot.render.report import without_enumerator


class Status(StrEnum):
    """The interview's status as the engine sees it."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


@dataclass(frozen=True)
class State:
    """Everything that decides what the next message means."""

    status: Status
    current: str | None
    answers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: frozenset[str] = frozenset()
    awaiting_follow_up: bool = False
    editing: tuple[str, int | None] | None = None
    # The question the interview carries on after once the current one is done, instead of
    # the next in order: set at the end when questions were left unanswered (one added to
    # the questionnaire since the interview began, one jumped past), so each of them leads
    # to the next of them, not through the answered questions that follow it.
    return_to: str | None = None

    def entries(self, question_id: str) -> tuple[str, ...]:
        """The entries given for a question (empty if none)."""
        return self.answers.get(question_id, ())

    def settled(self, question_id: str) -> bool:
        """Answered or skipped."""
        return bool(self.entries(question_id)) or question_id in self.skipped


def initial_state(questionnaire: Questionnaire) -> State:
    """A fresh interview at the first question."""
    return State(status=Status.ACTIVE, current=questionnaire.first())


# Events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """The cadre typed something (already cleaned and within limits)."""

    text: str


@dataclass(frozen=True)
class Next:
    """Done with the current question (keep its answer, or finish a list)."""

    question_id: str


@dataclass(frozen=True)
class Skip:
    """Leave the current question unanswered."""

    question_id: str


@dataclass(frozen=True)
class Back:
    """Go to the previous question."""

    question_id: str


@dataclass(frozen=True)
class KeepAsIs:
    """Decline the follow-up and keep the answer as given."""

    question_id: str


@dataclass(frozen=True)
class Jump:
    """Go to a question (from the status overview)."""

    question_id: str


@dataclass(frozen=True)
class EditPick:
    """Replace an answer: entry None for a single answer, an index for one entry of a list."""

    question_id: str
    entry: int | None


@dataclass(frozen=True)
class EditCancel:
    """Leave edit mode without changing anything."""


@dataclass(frozen=True)
class Pause:
    """Stop for now; nothing is deleted."""


@dataclass(frozen=True)
class Resume:
    """Continue a paused interview where it stopped."""


@dataclass(frozen=True)
class Where:
    """Show where the interview stands without changing it."""


Event = Text | Next | Skip | Back | KeepAsIs | Jump | EditPick | EditCancel | Pause | Resume | Where

# Outputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """Show a question with its hint, progress and buttons."""

    question_id: str


@dataclass(frozen=True)
class FollowUp:
    """Ask once for the specific thing a thin answer lacks (`lack`: a `substance.Lack`)."""

    question_id: str
    lack: str = "length"


@dataclass(frozen=True)
class Collected:
    """An entry was added to a list question; ask for the next or Next."""

    question_id: str
    count: int


@dataclass(frozen=True)
class EditPrompt:
    """Ask for the replacement text of an answer."""

    question_id: str
    entry: int | None


@dataclass(frozen=True)
class Notice:
    """A message from the catalogue, by key."""

    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class Finished:
    """Every question is done: the draft should be assembled."""


@dataclass(frozen=True)
class Completed:
    """The interview was already complete: say what can be done now."""


Output = Ask | FollowUp | Collected | EditPrompt | Notice | Finished | Completed


@dataclass(frozen=True)
class Transition:
    """The result of one event: the new state, what to say, which answers changed."""

    state: State
    outputs: tuple[Output, ...]
    changed: frozenset[str] = frozenset()


# Transitions ------------------------------------------------------------------------------


def step(q: Questionnaire, state: State, event: Event, *, checks: Checks) -> Transition:
    """Apply one event to the interview state; `checks` are the review's rules the answers
    of `q` are followed up on (`Checks.from_rules`, or `substance.NO_CHECKS`)."""
    match event:
        case Pause():
            return _pause(state)
        case Resume() | Where():
            return _show(q, checks, replace(state, status=_unpaused(state)), resumed=True)
        case EditPick(question_id, entry):
            return _edit_pick(q, checks, state, question_id, entry)
        case EditCancel():
            return _show(q, checks, replace(state, editing=None))
        case Text(text) if state.editing is not None:
            return _edit_save(q, checks, state, text)
        case Text(text) if state.status is Status.PAUSED and state.current is not None:
            return _answer_after_pause(q, checks, replace(state, status=Status.ACTIVE), text)
        case Text(text) if state.current is None:
            return Transition(state, (Completed(),))
        case Text(text) if state.current is not None:
            return _answer(q, checks, state, q.question(state.current), text)
        case Next(qid) | Skip(qid) | Back(qid) | KeepAsIs(qid) | Jump(qid) if not _fresh(
            q, state, event
        ):
            return _show(
                q, checks, replace(state, status=_unpaused(state)), notice=Notice("stale_button")
            )
        case Next(qid):
            return _next(q, checks, _live(state), q.question(qid))
        case Skip(qid):
            return _skip(q, checks, _live(state), q.question(qid))
        case Back(qid):
            return _back(q, checks, _live(state), qid)
        case KeepAsIs(qid):
            return _keep(q, checks, _live(state), q.question(qid))
        case Jump(qid):
            return _show(
                q,
                checks,
                replace(state, current=qid, status=Status.ACTIVE, awaiting_follow_up=False),
            )
    raise AssertionError(f"unhandled event {event!r}")  # pragma: no cover


def _live(state: State) -> State:
    """A button press on a paused interview resumes it."""
    return replace(state, status=_unpaused(state))


def _unpaused(state: State) -> Status:
    return Status.ACTIVE if state.status is Status.PAUSED else state.status


def _fresh(q: Questionnaire, state: State, event: Next | Skip | Back | KeepAsIs | Jump) -> bool:
    """A button acts only on the question it was shown with (Jump: on any known question)."""
    if not q.has(event.question_id) or state.editing is not None:
        return False
    if isinstance(event, Jump):
        return True
    if isinstance(event, KeepAsIs) and not state.awaiting_follow_up:
        return False
    return event.question_id == state.current


def _show(
    q: Questionnaire,
    checks: Checks,
    state: State,
    *,
    resumed: bool = False,
    notice: Notice | None = None,
) -> Transition:
    outputs: list[Output] = [notice] if notice else []
    if state.editing is not None:
        # The next text replaces the answer being edited, so that is what is shown.
        outputs.append(EditPrompt(*state.editing))
    elif state.current is None:
        outputs.append(Completed())
    else:
        if resumed:
            outputs.append(Notice("resumed"))
        outputs.append(
            _follow_up(q, checks, state) if state.awaiting_follow_up else Ask(state.current)
        )
    return Transition(state, tuple(outputs))


def _pause(state: State) -> Transition:
    if state.status is Status.COMPLETED:
        return Transition(replace(state, editing=None), (Notice("nothing_to_pause"),))
    return Transition(replace(state, status=Status.PAUSED, editing=None), (Notice("paused"),))


# A resent text this long is taken for a resend (its first reply was lost), not a new answer;
# short ones ("无", "none") may rightly repeat.
RESEND_MIN_CHARS = 20


def _follow_up(q: Questionnaire, checks: Checks, state: State) -> FollowUp:
    """The follow-up for the current question's newest entry: what that entry lacks
    (read again from the entry, so a resumed interview asks for the same thing)."""
    assert state.current is not None
    entries = state.entries(state.current)
    lack = lacks_substance(q.question(state.current), entries[-1], checks) if entries else None
    return FollowUp(state.current, (lack or Lack.LENGTH).value)


def _resent(q: Questionnaire, state: State, question: Question, text: str) -> str | None:
    """The question a text was already saved under, if it is a resend: the same as an item
    of this list, or as the previous answer while this question has none."""
    if len(text) < RESEND_MIN_CHARS or state.awaiting_follow_up:
        return None
    if question.multiple and text in state.entries(question.id):
        return question.id
    previous = q.before(question.id)
    if previous is not None and not state.entries(question.id) and text in state.entries(previous):
        return previous
    return None


def _answer(
    q: Questionnaire, checks: Checks, state: State, question: Question, text: str
) -> Transition:
    resent = _resent(q, state, question, text)
    if resent is not None:
        notice = Notice("already_saved", {"label": q.question(resent).label})
        return _show(q, checks, state, notice=notice)
    entries = state.entries(question.id)
    # A numbered item ("2.", "二是") sent while a list's follow-up waits is the next item,
    # not the addition: the cadre went on with the list.
    next_item = question.multiple and without_enumerator(text) != text
    if state.awaiting_follow_up and entries and not next_item:
        # The addition completes the entry the follow-up asked about; the fact behind a
        # stock verdict goes before it, so the verdict concludes it instead of standing
        # as the item's empty opening.
        last = entries[-1]
        if lacks_substance(question, last, checks) is Lack.STOCK:
            completed = fact_before_verdict(last, text, q.language)
        else:
            completed = join_addition(last, text, q.language)
        entries = (*entries[:-1], completed)
        thin = False
    elif question.multiple and len(entries) >= question.max_entries:
        return _show(q, checks, state, notice=Notice("list_full", {"limit": question.max_entries}))
    elif question.multiple:
        entries = (*entries, text)
        thin = lacks_substance(question, text, checks) is not None
    else:
        entries = (text,)
        thin = lacks_substance(question, text, checks) is not None
    answered = _with_answer(state, question.id, entries)
    if thin:
        return Transition(
            replace(answered, awaiting_follow_up=True),
            (_follow_up(q, checks, answered),),
            frozenset({question.id}),
        )
    answered = replace(answered, awaiting_follow_up=False)
    if question.multiple:
        return Transition(
            answered, (Collected(question.id, len(entries)),), frozenset({question.id})
        )
    moved = _advance(q, answered, question.id)
    return replace(moved, changed=frozenset({question.id}))


def _answer_after_pause(q: Questionnaire, checks: Checks, state: State, text: str) -> Transition:
    """A text after a pause is the answer to the question where the cadre stopped: nothing
    they typed is dropped. The reply names the question, since they may no longer have it in
    front of them, and /edit replaces the answer if it was meant otherwise."""
    assert state.current is not None
    question = q.question(state.current)
    answered = _answer(q, checks, state, question, text)
    if question.id not in answered.changed:
        return answered  # not saved (already saved, list full): its notice says so
    notice = Notice("answered_after_pause", {"label": question.label})
    return replace(answered, outputs=(notice, *answered.outputs))


_SENTENCE_END = "。！？；….!?;"


def join_addition(answer: str, addition: str, language: str) -> str:
    """An answer completed by its follow-up, read as one passage.

    A cadre who retypes the whole answer (the first words included) means it to replace it.
    """
    if answer.strip() in addition:
        return addition
    if answer.endswith(tuple(_SENTENCE_END)):
        separator = "" if language == "zh" else " "
    else:
        separator = "。" if language == "zh" else ". "
    return f"{answer}{separator}{addition}"


def fact_before_verdict(verdict: str, fact: str, language: str) -> str:
    """A stock verdict ("一是工作取得了较好成绩。") completed by the fact the follow-up asked
    for: the fact first and the verdict as its conclusion ("一是牵头……零差错，工作取得了较好
    成绩。"), the cadre's enumerator kept in front. Nothing typed is dropped."""
    if verdict.strip() in fact:
        return fact  # retyped whole: it replaces the answer
    rest = without_enumerator(verdict)
    enumerator = verdict[: len(verdict) - len(rest)].lstrip()
    body = fact.strip()
    if language == "zh":
        return f"{enumerator}{body.rstrip('。；;，,')}，{rest.strip()}"
    if not body.endswith(tuple(_SENTENCE_END)):
        body += "."
    return f"{enumerator}{body} {rest.strip()}"


def _with_answer(state: State, question_id: str, entries: tuple[str, ...]) -> State:
    return replace(
        state,
        answers={**state.answers, question_id: entries},
        skipped=state.skipped - {question_id},
    )


def _advance(q: Questionnaire, state: State, question_id: str) -> Transition:
    following = q.after(state.return_to or question_id)
    if following is not None:
        return Transition(
            replace(state, current=following, awaiting_follow_up=False, return_to=None),
            (Ask(following),),
        )
    # The end: the interview is complete once every question is answered or skipped.
    left = [x.id for x in q.questions if not state.settled(x.id)]
    if left:
        label = q.question(left[0]).label
        return Transition(
            replace(state, current=left[0], awaiting_follow_up=False, return_to=q.questions[-1].id),
            (Notice("unanswered_left", {"count": len(left), "label": label}), Ask(left[0])),
        )
    done = replace(
        state, current=None, status=Status.COMPLETED, awaiting_follow_up=False, return_to=None
    )
    return Transition(done, (Finished(),))


def _next(q: Questionnaire, checks: Checks, state: State, question: Question) -> Transition:
    if state.entries(question.id):
        return _advance(q, state, question.id)
    if question.skippable:
        return _skip(q, checks, state, question)
    return _show(q, checks, state, notice=Notice("answer_required"))


def _skip(q: Questionnaire, checks: Checks, state: State, question: Question) -> Transition:
    if not question.skippable:
        return _show(q, checks, state, notice=Notice("cannot_skip"))
    skipped = state.skipped if state.entries(question.id) else state.skipped | {question.id}
    return _advance(q, replace(state, skipped=skipped), question.id)


def _back(q: Questionnaire, checks: Checks, state: State, question_id: str) -> Transition:
    previous = q.before(question_id)
    if previous is None:
        return _show(q, checks, state, notice=Notice("at_first_question"))
    return _show(q, checks, replace(state, current=previous, awaiting_follow_up=False))


def _keep(q: Questionnaire, checks: Checks, state: State, question: Question) -> Transition:
    kept = replace(state, awaiting_follow_up=False)
    if question.multiple:
        return Transition(kept, (Collected(question.id, len(kept.entries(question.id))),))
    return _advance(q, kept, question.id)


def _edit_pick(
    q: Questionnaire, checks: Checks, state: State, question_id: str, entry: int | None
) -> Transition:
    if not q.has(question_id):
        return _show(q, checks, state, notice=Notice("stale_button"))
    question = q.question(question_id)
    count = len(state.entries(question_id))
    valid = (entry is None and not question.multiple) or (
        entry is not None and question.multiple and 0 <= entry <= count
    )
    if not valid:
        return _show(q, checks, state, notice=Notice("stale_button"))
    if entry == count and count >= question.max_entries:
        return _show(q, checks, state, notice=Notice("list_full", {"limit": question.max_entries}))
    editing = replace(state, editing=(question_id, entry), awaiting_follow_up=False)
    return Transition(editing, (EditPrompt(question_id, entry),))


def _edit_save(q: Questionnaire, checks: Checks, state: State, text: str) -> Transition:
    assert state.editing is not None
    question_id, entry = state.editing
    entries = list(state.entries(question_id))
    if entry is None:
        entries = [text]
    elif entry < len(entries):
        entries[entry] = text
    else:
        entries.append(text)
    saved = replace(_with_answer(state, question_id, tuple(entries)), editing=None)
    label = q.question(question_id).label
    shown = _show(q, checks, saved, notice=Notice("edit_saved", {"label": label}))
    return replace(shown, changed=frozenset({question_id}))
