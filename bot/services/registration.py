"""Registration and /profile: name, position, organisation, language."""

from __future__ import annotations

from datetime import datetime

from bot.interview.input import Rejected, clean_text
from bot.services.replies import Act, Action, Button, Reply
from bot.services.resources import Resources, as_language
from bot.store.models import Cadre, ProfileField

FIELD_LIMIT = 200
LANGUAGE_STEP = "language"
_LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
_ORDER = (ProfileField.NAME, ProfileField.POSITION, ProfileField.ORGANISATION)


def new_cadre(
    res: Resources, *, user_id: int, chat_id: int, language_code: str | None, now: datetime
) -> Cadre:
    """A cadre who has just said hello: language guessed, registration at its first step."""
    return Cadre(
        telegram_user_id=user_id,
        chat_id=chat_id,
        language=as_language(language_code, res.default_language),
        awaiting_field=LANGUAGE_STEP,
        registered=False,
        created_at=now,
        updated_at=now,
    )


def language_buttons() -> tuple[tuple[Button, ...], ...]:
    """中文 / English."""
    return (
        tuple(
            Button(name, Action(Act.LANGUAGE, arg=code)) for code, name in _LANGUAGE_NAMES.items()
        ),
    )


def welcome(res: Resources, cadre: Cadre) -> list[Reply]:
    """The first message: what the bot does, and the language question."""
    text = res.t(cadre.language, "welcome") + "\n\n" + res.t(cadre.language, "welcome_language")
    return [Reply(text, language_buttons())]


def prompt(res: Resources, cadre: Cadre) -> list[Reply]:
    """Ask again for whatever registration or /profile is waiting for."""
    step = cadre.awaiting_field
    if step == LANGUAGE_STEP or step is None:
        return [Reply(res.t(cadre.language, "choose_language"), language_buttons())]
    key = f"ask_{step}" if not cadre.registered else f"profile_ask_{step}"
    return [Reply(res.t(cadre.language, key))]


def choose_language(res: Resources, cadre: Cadre, code: str, now: datetime) -> list[Reply]:
    """Set the language; during registration go on to the name."""
    if code not in _LANGUAGE_NAMES:
        return prompt(res, cadre)
    cadre.language = code
    cadre.updated_at = now
    if not cadre.registered:
        # Pressed on the welcome, which this reply replaces: what the bot does stays there.
        cadre.awaiting_field = ProfileField.NAME
        return [
            Reply(res.t(code, "welcome")),
            Reply(res.t(code, "language_set")),
            *prompt(res, cadre),
        ]
    cadre.awaiting_field = None
    return [Reply(res.t(code, "language_set")), profile(res, cadre)]


def save_field(res: Resources, cadre: Cadre, raw: str, now: datetime) -> tuple[list[Reply], bool]:
    """Store the text as the awaited field. Returns the replies and whether registration ended."""
    step = cadre.awaiting_field
    if step == LANGUAGE_STEP or step is None:
        return prompt(res, cadre), False
    text = clean_text(raw, limit=FIELD_LIMIT)
    if isinstance(text, Rejected):
        key = "empty_text" if text.length == 0 else "field_too_long"
        return [Reply(res.t(cadre.language, key, limit=FIELD_LIMIT)), *prompt(res, cadre)], False
    field = ProfileField(step)
    setattr(cadre, field.value, " ".join(text.split()))
    cadre.updated_at = now
    if cadre.registered:
        cadre.awaiting_field = None
        return [Reply(res.t(cadre.language, "profile_saved")), profile(res, cadre)], False
    following = _ORDER.index(field) + 1
    if following < len(_ORDER):
        cadre.awaiting_field = _ORDER[following]
        return prompt(res, cadre), False
    cadre.awaiting_field = None
    cadre.registered = True
    return [Reply(res.t(cadre.language, "registered", name=cadre.name))], True


def ask_to_change(res: Resources, cadre: Cadre, field: str) -> list[Reply]:
    """A /profile button was pressed: wait for that field (or show the languages)."""
    if field == LANGUAGE_STEP:
        return [Reply(res.t(cadre.language, "choose_language"), language_buttons())]
    if field not in {f.value for f in _ORDER}:
        return [profile(res, cadre)]
    cadre.awaiting_field = field
    return prompt(res, cadre)


def profile(res: Resources, cadre: Cadre) -> Reply:
    """The profile with a button per field."""
    lang = cadre.language
    buttons = tuple(
        Button(res.t(lang, f"btn_{name}"), Action(Act.PROFILE, arg=name))
        for name in (*(f.value for f in _ORDER), LANGUAGE_STEP)
    )
    return Reply(
        res.t(
            lang,
            "profile",
            name=cadre.name,
            position=cadre.position,
            organisation=cadre.organisation,
            language=_LANGUAGE_NAMES.get(lang, lang),
        ),
        (buttons[:2], buttons[2:]),
    )
