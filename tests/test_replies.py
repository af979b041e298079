"""What a step sends: texts merged into as few messages as fit, buttons on the last."""

from __future__ import annotations

from bot.services.replies import Act, Action, Attachment, Button, Reply, merged
from bot.telegram.callback_data import BadCallbackData, decode, encode

NEXT = ((Button("Next", Action(Act.NEXT, 7, "post")),),)


def test_a_notice_and_the_question_after_it_are_one_message_with_its_buttons() -> None:
    assert merged([Reply("Saved."), Reply("Question 2?", NEXT)]) == [
        Reply("Saved.\n\nQuestion 2?", NEXT)
    ]


def test_texts_after_a_keyboard_or_around_a_document_stay_apart() -> None:
    document = Reply(document=Attachment("a.docx", b"x"))
    replies = [Reply("Question?", NEXT), Reply("Notice."), document, Reply("After.")]
    assert merged(replies) == replies


def test_texts_that_would_not_fit_one_message_are_split_where_they_meet() -> None:
    long = "好" * 3000
    assert merged([Reply(long), Reply(long), Reply("短")]) == [
        Reply(long),
        Reply(long + "\n\n短"),
    ]
    # UTF-16 units: an emoji counts twice.
    emoji = "😀" * 2046  # 4,092 units, 2,046 characters
    assert len(merged([Reply(emoji), Reply("ab")])) == 1  # 4,096: fits
    assert len(merged([Reply(emoji), Reply("abc")])) == 2


def test_a_confirmation_carries_its_revision_and_other_buttons_do_not() -> None:
    confirm = Action(Act.RESTART, 12, revision=5)
    assert encode(confirm) == "v1:restart:12::-1:5"
    assert decode(encode(confirm)) == confirm
    assert decode("v1:restart:12::-1").revision is None  # made before revisions
    assert encode(Action(Act.NEXT, 12, "post")) == "v1:next:12:post:-1"
    for bad in ("v1:restart:12::-1:-3", "v1:restart:12::-1:x", "v1:restart:12::-1:5:6"):
        try:
            decode(bad)
        except BadCallbackData:
            continue
        raise AssertionError(f"{bad!r} was accepted")
