"""The interview state machine, as plain functions: no database, no Telegram."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.interview import engine
from bot.interview.engine import State, Status, step
from bot.interview.questionnaire import Questionnaire
from bot.interview.substance import NO_CHECKS

QUESTIONNAIRE = Questionnaire.model_validate(
    {
        "report_type": "annual",
        "language": "en",
        "name": "Annual report",
        "sections": [
            {
                "id": "duties",
                "title": "Duties",
                "questions": [
                    {
                        "id": "post",
                        "label": "Post",
                        "text": "Your post?",
                        "skippable": False,
                        "min_chars": 10,
                        "follow_up": "Since when, and how many staff?",
                    },
                ],
            },
            {
                "id": "results",
                "title": "Results",
                "questions": [
                    {
                        "id": "results",
                        "label": "Results",
                        "text": "List results.",
                        "multiple": True,
                        "skippable": False,
                        "needs_figure": True,
                        "follow_up": "Add a figure?",
                    },
                    {"id": "hardest", "label": "Hardest problem", "text": "Hardest problem?"},
                ],
            },
        ],
    }
)
LONG_POST = "Deputy director since 2023, 32 staff"


def start() -> State:
    return engine.initial_state(QUESTIONNAIRE)


def run(*events: engine.Event, state: State | None = None) -> engine.Transition:
    """Apply events in order; return the last transition."""
    current = state or start()
    transition = engine.Transition(current, ())
    for event in events:
        transition = step(QUESTIONNAIRE, transition.state, event, checks=NO_CHECKS)
    return transition


def test_a_substantial_answer_is_stored_and_the_next_question_asked() -> None:
    t = run(engine.Text(LONG_POST))
    assert t.state.entries("post") == (LONG_POST,)
    assert t.state.current == "results"
    assert t.outputs == (engine.Ask("results"),)
    assert t.changed == {"post"}


def test_a_thin_answer_gets_exactly_one_follow_up_and_the_addition_completes_it() -> None:
    first = run(engine.Text("Director"))
    assert first.outputs == (engine.FollowUp("post", "length"),)
    assert first.state.current == "post" and first.state.awaiting_follow_up

    second = run(engine.Text("since 2023"), state=first.state)
    assert second.state.entries("post") == ("Director. since 2023",)
    assert second.state.current == "results"
    assert not second.state.awaiting_follow_up


def test_keep_as_is_accepts_a_thin_answer() -> None:
    t = run(engine.Text("Director"), engine.KeepAsIs("post"))
    assert t.state.entries("post") == ("Director",)
    assert t.state.current == "results"


def test_a_list_question_collects_entries_until_next() -> None:
    t = run(engine.Text(LONG_POST), engine.Text("Built 12 schools"), engine.Text("Saved 3%"))
    assert t.outputs == (engine.Collected("results", 2),)
    assert t.state.current == "results"
    t = run(engine.Next("results"), state=t.state)
    assert t.state.entries("results") == ("Built 12 schools", "Saved 3%")
    assert t.state.current == "hardest"


def test_an_entry_without_a_figure_gets_a_follow_up_for_that_entry() -> None:
    t = run(engine.Text(LONG_POST), engine.Text("Built schools"))
    assert t.outputs == (engine.FollowUp("results", "figure"),)
    t = run(engine.Text("twelve of them, 2 ahead of plan"), state=t.state)
    assert t.state.entries("results") == ("Built schools. twelve of them, 2 ahead of plan",)
    assert t.outputs == (engine.Collected("results", 1),)


def test_a_required_list_cannot_be_left_empty() -> None:
    t = run(engine.Text(LONG_POST), engine.Next("results"))
    assert t.state.current == "results"
    assert engine.Notice("answer_required") in t.outputs


def test_skip_leaves_an_optional_question_unanswered_and_refuses_a_required_one() -> None:
    refused = run(engine.Skip("post"))
    assert refused.state.current == "post"
    assert engine.Notice("cannot_skip") in refused.outputs

    t = run(
        engine.Text(LONG_POST),
        engine.Text("Built 12 schools"),
        engine.Next("results"),
        engine.Skip("hardest"),
    )
    assert t.state.skipped == {"hardest"}
    assert t.state.status is Status.COMPLETED
    assert t.outputs == (engine.Finished(),)


def test_back_returns_to_the_previous_question_and_keeps_its_answer() -> None:
    t = run(engine.Text(LONG_POST), engine.Back("results"))
    assert t.state.current == "post"
    assert t.state.entries("post") == (LONG_POST,)
    assert t.outputs == (engine.Ask("post"),)
    at_start = run(engine.Back("post"))
    assert engine.Notice("at_first_question") in at_start.outputs


def test_a_button_from_an_earlier_question_changes_nothing() -> None:
    moved = run(engine.Text(LONG_POST))
    t = run(engine.Skip("post"), state=moved.state)
    assert t.state == moved.state
    assert t.outputs[0] == engine.Notice("stale_button")


def test_a_message_after_a_pause_is_the_answer_where_it_stopped_and_says_so() -> None:
    """Nothing typed is dropped: the text answers the question the cadre paused at, and
    the reply names that question (it may no longer be on their screen)."""
    paused = run(engine.Text(LONG_POST), engine.Pause())
    assert paused.state.status is Status.PAUSED
    t = run(engine.Text("Built 12 schools"), state=paused.state)
    assert t.state.status is Status.ACTIVE
    assert t.state.entries("results") == ("Built 12 schools",)
    assert t.changed == {"results"}
    assert t.outputs == (
        engine.Notice("answered_after_pause", {"label": "Results"}),
        engine.Collected("results", 1),
    )


def test_after_a_pause_start_resumes_without_an_answer() -> None:
    paused = run(engine.Text(LONG_POST), engine.Pause())
    t = run(engine.Resume(), state=paused.state)
    assert t.state.status is Status.ACTIVE and t.state.entries("results") == ()
    assert t.outputs == (engine.Notice("resumed"), engine.Ask("results"))


def test_a_resent_answer_after_a_pause_is_not_saved_twice() -> None:
    paused = run(engine.Text(LONG_POST), engine.Pause())
    t = run(engine.Text(LONG_POST), state=paused.state)
    assert t.state.entries("results") == () and t.changed == frozenset()
    assert t.outputs[0] == engine.Notice("already_saved", {"label": "Post"})


def test_edit_replaces_one_answer_and_stays_at_the_current_question() -> None:
    at_results = run(engine.Text(LONG_POST), engine.Text("Built 12 schools"))
    picking = run(engine.EditPick("post", None), state=at_results.state)
    assert picking.outputs == (engine.EditPrompt("post", None),)
    t = run(engine.Text("Director of the bureau since 2021"), state=picking.state)
    assert t.state.entries("post") == ("Director of the bureau since 2021",)
    assert t.state.current == "results"
    assert t.changed == {"post"}
    assert t.outputs[0] == engine.Notice("edit_saved", {"label": "Post"})


def test_edit_replaces_or_adds_one_entry_of_a_list() -> None:
    state = run(
        engine.Text(LONG_POST), engine.Text("Built 12 schools"), engine.Text("Saved 3%")
    ).state
    replaced = run(engine.EditPick("results", 0), engine.Text("Built 13 schools"), state=state)
    assert replaced.state.entries("results") == ("Built 13 schools", "Saved 3%")
    added = run(engine.EditPick("results", 2), engine.Text("Won 1 award"), state=replaced.state)
    assert added.state.entries("results") == ("Built 13 schools", "Saved 3%", "Won 1 award")
    out_of_range = run(engine.EditPick("results", 7), state=added.state)
    assert out_of_range.state.editing is None


def test_text_after_completion_explains_what_can_be_done() -> None:
    done = run(
        engine.Text(LONG_POST),
        engine.Text("Built 12 schools"),
        engine.Next("results"),
        engine.Text("Flood in May: moved 300 people"),
    )
    assert done.state.status is Status.COMPLETED
    t = run(engine.Text("anything"), state=done.state)
    assert t.outputs == (engine.Completed(),)
    assert t.state == done.state


EVENTS = st.one_of(
    st.builds(engine.Text, st.sampled_from(["x", "Director since 2023, 32 staff", "12 schools"])),
    st.builds(engine.Next, st.sampled_from(["post", "results", "hardest", "nope"])),
    st.builds(engine.Skip, st.sampled_from(["post", "results", "hardest"])),
    st.builds(engine.Back, st.sampled_from(["post", "results", "hardest"])),
    st.builds(engine.KeepAsIs, st.sampled_from(["post", "results", "hardest"])),
    st.builds(engine.Jump, st.sampled_from(["post", "results", "hardest"])),
    st.builds(
        engine.EditPick,
        st.sampled_from(["post", "results", "x"]),
        st.one_of(st.none(), st.integers(-1, 3)),
    ),
    st.just(engine.EditCancel()),
    st.just(engine.Pause()),
    st.just(engine.Resume()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, max_size=40))
def test_no_sequence_of_events_breaks_the_interview(events: list[engine.Event]) -> None:
    state = start()
    for event in events:
        before = state
        t = step(QUESTIONNAIRE, state, event, checks=NO_CHECKS)
        state = t.state
        assert t.outputs, "every event gets a reply"
        assert (state.current is None) == (state.status is Status.COMPLETED)
        assert set(state.answers) <= {"post", "results", "hardest"}
        # Answers only change where the transition says so, so the service stores them all.
        for qid in {"post", "results", "hardest"} - t.changed:
            assert state.entries(qid) == before.entries(qid)


def test_substance_checks_find_figures_but_not_set_phrases() -> None:
    from bot.interview.substance import Lack, lacks_substance

    results = QUESTIONNAIRE.question("results")
    for text in ("完成了十二个项目", "预算执行率98.6%", "同比增长百分之五", "saved twelve days"):
        assert lacks_substance(results, text, NO_CHECKS) is None, text
    for text in ("一年来工作很努力", "做出一个重要决定", "worked hard all year"):
        assert lacks_substance(results, text, NO_CHECKS) is Lack.FIGURE, text
    assert lacks_substance(QUESTIONNAIRE.question("post"), "局长", NO_CHECKS) is Lack.LENGTH


def test_a_long_text_sent_again_is_recognised_as_a_resend_and_not_stored_twice() -> None:
    item = "Built 12 schools for 9,000 pupils"
    t = run(engine.Text(LONG_POST), engine.Text(LONG_POST))  # its reply was lost
    assert t.outputs[0] == engine.Notice("already_saved", {"label": "Post"})
    assert t.state.current == "results" and not t.state.entries("results")
    t = run(engine.Text(item), engine.Text(item), state=t.state)
    assert t.state.entries("results") == (item,)
    assert t.outputs[0] == engine.Notice("already_saved", {"label": "Results"})


def test_a_short_text_may_rightly_repeat() -> None:
    t = run(engine.Text(LONG_POST), engine.Text("Saved 3%"), engine.Text("Saved 3%"))
    assert t.state.entries("results") == ("Saved 3%", "Saved 3%")
