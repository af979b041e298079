"""The bot's own sentences, per language, from `prompts/messages/<lang>.yaml`."""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.interview.questionnaire import LANGUAGES, Language


class MessagesError(ValueError):
    """The message catalogues are missing, disagree on keys, or are malformed."""


def escape(text: str) -> str:
    """User text made safe for Telegram HTML."""
    return html.escape(text, quote=False)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Messages:
    """Message templates by language and key."""

    catalogues: dict[Language, dict[str, str]]

    def text(self, language: Language, key: str, /, **params: str | int) -> str:
        """The message `key` in `language`; str params are escaped as user text."""
        template = self.catalogues[language][key]
        safe = {k: escape(v) if isinstance(v, str) else v for k, v in params.items()}
        return template.format(**safe)

    def template(self, language: Language, key: str, /) -> str:
        """The message with its placeholders left in, for code that fills them itself."""
        return self.catalogues[language][key]

    def raw(self, language: Language, key: str, /, **params: str | int) -> str:
        """The message with params inserted as they are (already HTML, or plain labels)."""
        return self.catalogues[language][key].format(**params)


def load_messages(prompts_dir: Path) -> Messages:
    """Load and cross-check every language's catalogue: same keys, same placeholders."""
    catalogues: dict[Language, dict[str, str]] = {}
    for language in LANGUAGES:
        path = prompts_dir / "messages" / f"{language}.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise MessagesError(f"{path}: {exc}") from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise MessagesError(f"{path}: expected a mapping of keys to strings")
        catalogues[language] = data
    reference = catalogues[LANGUAGES[0]]
    for language, catalogue in catalogues.items():
        if set(catalogue) != set(reference):
            diff = sorted(set(catalogue) ^ set(reference))
            raise MessagesError(f"messages/{language}.yaml: keys differ: {', '.join(diff)}")
        for key, template in catalogue.items():
            if _placeholders(template) != _placeholders(reference[key]):
                raise MessagesError(f"messages/{language}.yaml: {key}: placeholders differ")
    return Messages(catalogues)
