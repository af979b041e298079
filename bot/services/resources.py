"""What the services read but never change: questionnaires, messages, templates, limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment

from bot.interview.questionnaire import Catalogue, Language, Questionnaire, load_catalogue
from bot.interview.substance import Checks
from bot.render.messages import Messages, load_messages
from bot.render.report import make_environment, template_name
from bot.review.rules import RuleBook, load_rulebook
from bot.services.links import Links


@dataclass(frozen=True)
class Resources:
    """Loaded once at start-up and shared by every service call."""

    catalogue: Catalogue
    messages: Messages
    templates: Environment
    default_language: Language
    zone: ZoneInfo
    answer_limit: int
    review: RuleBook  # the pre-submission review's rules, per questionnaire
    # The review rules the interview follows up on at once, per (report_type, language).
    checks: Mapping[tuple[str, Language], Checks]
    links: Links = field(default_factory=Links)  # the username is set once getMe answers
    # The host of the language-model endpoint that polishes drafts (None: not offered).
    rewrite_host: str | None = None

    def checks_for(self, questionnaire: Questionnaire) -> Checks:
        """What the interview of this questionnaire follows a thin answer up on."""
        return self.checks[(questionnaire.report_type, questionnaire.language)]

    def t(self, language: str, key: str, /, **params: str | int) -> str:
        """A catalogue message in a language (user-text params escaped)."""
        return self.messages.text(as_language(language, self.default_language), key, **params)

    def template(self, language: str, key: str, /) -> str:
        """A catalogue message with its placeholders left in, for code that fills them."""
        return self.messages.template(as_language(language, self.default_language), key)

    def raw(self, language: str, key: str, /, **params: str | int) -> str:
        """A catalogue message with params inserted as they are (HTML, or plain labels)."""
        return self.messages.raw(as_language(language, self.default_language), key, **params)


def as_language(value: str | None, default: Language) -> Language:
    """A stored or Telegram language code as one of ours (zh-hans -> zh, de -> default)."""
    code = (value or "").lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    return default


def load_resources(
    prompts_dir: Path,
    *,
    default_language: Language,
    zone: str,
    answer_limit: int,
    rewrite_host: str | None = None,
) -> Resources:
    """Load and validate everything under prompts/; fails loudly on any inconsistency."""
    catalogue = load_catalogue(prompts_dir)
    templates = make_environment(prompts_dir)
    for questionnaire in catalogue:
        templates.get_template(template_name(questionnaire))  # parse now, not mid-interview
    review = load_rulebook(prompts_dir, catalogue)
    return Resources(
        catalogue=catalogue,
        messages=load_messages(prompts_dir),
        templates=templates,
        default_language=default_language,
        zone=ZoneInfo(zone),
        answer_limit=answer_limit,
        review=review,
        checks={key: Checks.from_rules(catalogue.get(*key), rules) for key, rules in review},
        rewrite_host=rewrite_host,
    )
