"""The interview state machine: a state and an event give a new state and what to say.

Pure: no I/O, no clock, no Telegram. The service layer loads the state from the database,
calls `step`, stores the result and turns the outputs into replies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.interview.questionnaire import Question, Questionnaire
from bot.interview.substance import Lack, lacks_substance


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

    def entries(self, question_id: str) -> tuple[str, ...]:
        """The entries given for a question (empty if none)."""
        return self.answers.get(question_id, ())


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


def step(q: Questionnaire, state: State, event: Event) -> Transition:
    """Apply one event to the interview state."""
    match event:
        case Pause():
            return _pause(state)
        case Resume() | Where():
            return _show(q, replace(state, status=_unpaused(state)), resumed=True)
        case EditPick(question_id, entry):
            return _edit_pick(q, state, question_id, entry)
        case EditCancel():
            return _show(q, replace(state, editing=None))
        case Text(text) if state.editing is not None:
            return _edit_save(q, state, text)
        case Text(text) if state.status is Status.PAUSED and state.current is not None:
            return _answer_after_pause(q, replace(state, status=Status.ACTIVE), text)
        case Text(text) if state.current is None:
            return Transition(state, (Completed(),))
        case Text(text) if state.current is not None:
            return _answer(q, state, q.question(state.current), text)
        case Next(qid) | Skip(qid) | Back(qid) | KeepAsIs(qid) | Jump(qid) if not _fresh(
            q, state, event
        ):
            return _show(q, replace(state, status=_unpaused(state)), notice=Notice("stale_button"))
        case Next(qid):
            return _next(q, _live(state), q.question(qid))
        case Skip(qid):
            return _skip(q, _live(state), q.question(qid))
        case Back(qid):
            return _back(q, _live(state), qid)
        case KeepAsIs(qid):
            return _keep(q, _live(state), q.question(qid))
        case Jump(qid):
            return _show(
                q, replace(state, current=qid, status=Status.ACTIVE, awaiting_follow_up=False)
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
    q: Questionnaire, state: State, *, resumed: bool = False, notice: Notice | None = None
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
        outputs.append(_follow_up(q, state) if state.awaiting_follow_up else Ask(state.current))
    return Transition(state, tuple(outputs))


def _pause(state: State) -> Transition:
    if state.status is Status.COMPLETED:
        return Transition(replace(state, editing=None), (Notice("nothing_to_pause"),))
    return Transition(replace(state, status=Status.PAUSED, editing=None), (Notice("paused"),))


# A resent text this long is taken for a resend (its first reply was lost), not a new answer;
# short ones ("无", "none") may rightly repeat.
RESEND_MIN_CHARS = 20


def _follow_up(q: Questionnaire, state: State) -> FollowUp:
    """The follow-up for the current question's newest entry: what that entry lacks
    (read again from the entry, so a resumed interview asks for the same thing)."""
    assert state.current is not None
    entries = state.entries(state.current)
    lack = lacks_substance(q.question(state.current), entries[-1]) if entries else None
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


def _answer(q: Questionnaire, state: State, question: Question, text: str) -> Transition:
    resent = _resent(q, state, question, text)
    if resent is not None:
        notice = Notice("already_saved", {"label": q.question(resent).label})
        return _show(q, state, notice=notice)
    entries = state.entries(question.id)
    if state.awaiting_follow_up and entries:
        # The addition completes the entry the follow-up asked about.
        entries = (*entries[:-1], join_addition(entries[-1], text, q.language))
        thin = False
    elif question.multiple and len(entries) >= question.max_entries:
        return _show(q, state, notice=Notice("list_full", {"limit": question.max_entries}))
    elif question.multiple:
        entries = (*entries, text)
        thin = lacks_substance(question, text) is not None
    else:
        entries = (text,)
        thin = lacks_substance(question, text) is not None
    answered = _with_answer(state, question.id, entries)
    if thin:
        return Transition(
            replace(answered, awaiting_follow_up=True),
            (_follow_up(q, answered),),
            frozenset({question.id}),
        )
    answered = replace(answered, awaiting_follow_up=False)
    if question.multiple:
        return Transition(
            answered, (Collected(question.id, len(entries)),), frozenset({question.id})
        )
    moved = _advance(q, answered, question.id)
    return replace(moved, changed=frozenset({question.id}))


def _answer_after_pause(q: Questionnaire, state: State, text: str) -> Transition:
    """A text after a pause is the answer to the question where the cadre stopped: nothing
    they typed is dropped. The reply names the question, since they may no longer have it in
    front of them, and /edit replaces the answer if it was meant otherwise."""
    assert state.current is not None
    question = q.question(state.current)
    answered = _answer(q, state, question, text)
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


def _with_answer(state: State, question_id: str, entries: tuple[str, ...]) -> State:
    return replace(
        state,
        answers={**state.answers, question_id: entries},
        skipped=state.skipped - {question_id},
    )


def _advance(q: Questionnaire, state: State, question_id: str) -> Transition:
    following = q.after(question_id)
    if following is None:
        done = replace(state, current=None, status=Status.COMPLETED, awaiting_follow_up=False)
        return Transition(done, (Finished(),))
    return Transition(
        replace(state, current=following, awaiting_follow_up=False), (Ask(following),)
    )


def _next(q: Questionnaire, state: State, question: Question) -> Transition:
    if state.entries(question.id):
        return _advance(q, state, question.id)
    if question.skippable:
        return _skip(q, state, question)
    return _show(q, state, notice=Notice("answer_required"))


def _skip(q: Questionnaire, state: State, question: Question) -> Transition:
    if not question.skippable:
        return _show(q, state, notice=Notice("cannot_skip"))
    skipped = state.skipped if state.entries(question.id) else state.skipped | {question.id}
    return _advance(q, replace(state, skipped=skipped), question.id)


def _back(q: Questionnaire, state: State, question_id: str) -> Transition:
    previous = q.before(question_id)
    if previous is None:
        return _show(q, state, notice=Notice("at_first_question"))
    return _show(q, replace(state, current=previous, awaiting_follow_up=False))


def _keep(q: Questionnaire, state: State, question: Question) -> Transition:
    kept = replace(state, awaiting_follow_up=False)
    if question.multiple:
        return Transition(kept, (Collected(question.id, len(kept.entries(question.id))),))
    return _advance(q, kept, question.id)


def _edit_pick(q: Questionnaire, state: State, question_id: str, entry: int | None) -> Transition:
    if not q.has(question_id):
        return _show(q, state, notice=Notice("stale_button"))
    question = q.question(question_id)
    count = len(state.entries(question_id))
    valid = (entry is None and not question.multiple) or (
        entry is not None and question.multiple and 0 <= entry <= count
    )
    if not valid:
        return _show(q, state, notice=Notice("stale_button"))
    if entry == count and count >= question.max_entries:
        return _show(q, state, notice=Notice("list_full", {"limit": question.max_entries}))
    editing = replace(state, editing=(question_id, entry), awaiting_follow_up=False)
    return Transition(editing, (EditPrompt(question_id, entry),))


def _edit_save(q: Questionnaire, state: State, text: str) -> Transition:
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
    shown = _show(q, saved, notice=Notice("edit_saved", {"label": label}))
    return replace(shown, changed=frozenset({question_id}))
