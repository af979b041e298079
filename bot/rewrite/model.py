"""One call to an OpenAI-compatible endpoint: a draft section rewritten from the answers.

The prompt is data (`prompts/rewrite/<lang>.yaml`); this module fills it, makes one request
without retries (the caller's durable job decides about retrying, with the fact check's
violations named) and turns every way the endpoint can fail into a `ModelFailed` kind.
Answers are private: they are logged by size only, never by text.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template, TemplateError
from openai import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncOpenAI,
    OpenAIError,
)
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from bot.config import PROJECT_DIR, Settings
from bot.interview.questionnaire import LANGUAGES, Language
from bot.rewrite.errors import RewritePromptsError

log = logging.getLogger(__name__)

# Low: the task is faithful rephrasing, not invention.
TEMPERATURE = 0.3
# Room for the answer: about three tokens per input character covers a Chinese section that
# grows in the rewrite on any tokenizer; the floor leaves room for a model's <think> block,
# the cap keeps a runaway reply from holding a worker slot.
MIN_TOKENS = 1024
MAX_TOKENS = 4096
# A client's api_key is required even where the server checks none (Ollama, vLLM).
NO_KEY = "unused"
_DETAIL_CHARS = 200


@dataclass(frozen=True)
class SectionRequest:
    """One section to rewrite: whose report, which section, and the answers it rests on."""

    language: Language
    report_name: str
    section_title: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]
    """(question label, entries) in questionnaire order."""
    name: str
    post: str
    organisation: str
    period: str

    @property
    def answer_chars(self) -> int:
        """Characters of answer text, which the reply's length budget follows."""
        return sum(len(entry) for _, entries in self.answers for entry in entries)


class FailKind(StrEnum):
    """Why the endpoint gave no usable text; the cadre's line for each is in prompts/messages."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    EMPTY = "empty"


class ModelFailed(Exception):
    """The endpoint gave no usable text.

    `kind` is one of FailKind's values (compare it with plain strings: "timeout",
    "rate_limited", "server_error", "refused", "unreachable", "empty") and picks the
    cadre's message; `detail` is for the operator's log and holds no answer text.
    """

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind = FailKind(kind)
        self.detail = detail
        super().__init__(f"{self.kind}: {detail}" if detail else str(self.kind))


@dataclass(frozen=True)
class RewritePrompts:
    """The system and user message templates, per language."""

    system: dict[Language, Template]
    user: dict[Language, Template]

    def messages(
        self, request: SectionRequest, violations: Sequence[str] = ()
    ) -> list[ChatCompletionMessageParam]:
        """The chat messages for one request; `violations` make it the retry."""
        values: dict[str, Any] = {
            "report_name": request.report_name,
            "section_title": request.section_title,
            "name": request.name,
            "post": request.post,
            "organisation": request.organisation,
            "period": request.period,
            "answers": [(label, list(entries)) for label, entries in request.answers],
            "violations": list(violations),
        }
        return [
            {"role": "system", "content": self.system[request.language].render(values).strip()},
            {"role": "user", "content": self.user[request.language].render(values).strip()},
        ]


def load_rewrite_prompts(prompts_dir: Path) -> RewritePrompts:
    """Load `rewrite/<lang>.yaml` for every language and check it with a sample request:
    every placeholder known, every answer entry between <answer> markers, violations shown."""
    environment = Environment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    system: dict[Language, Template] = {}
    user: dict[Language, Template] = {}
    for language in LANGUAGES:
        path = prompts_dir / "rewrite" / f"{language}.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise RewritePromptsError(f"{path}: {exc}") from exc
        if not isinstance(data, dict) or set(data) != {"system", "user"}:
            raise RewritePromptsError(f"{path}: expected exactly the keys system and user")
        if not all(isinstance(value, str) for value in data.values()):
            raise RewritePromptsError(f"{path}: system and user must be text")
        try:
            system[language] = environment.from_string(data["system"])
            user[language] = environment.from_string(data["user"])
        except TemplateError as exc:
            raise RewritePromptsError(f"{path}: {exc}") from exc
        _check(RewritePrompts(system, user), language, path)
    return RewritePrompts(system, user)


def _check(prompts: RewritePrompts, language: Language, path: Path) -> None:
    entries = ("SAMPLE-ENTRY-1 12%", "SAMPLE-ENTRY-2\nsecond line")
    sample = SectionRequest(
        language=language,
        report_name="SAMPLE-REPORT",
        section_title="SAMPLE-SECTION",
        answers=(("SAMPLE-QUESTION", entries),),
        name="SAMPLE-NAME",
        post="SAMPLE-POST",
        organisation="SAMPLE-ORGANISATION",
        period="SAMPLE-PERIOD",
    )
    try:
        first = prompts.messages(sample)
        retry = prompts.messages(sample, ["SAMPLE-VIOLATION"])
    except TemplateError as exc:
        raise RewritePromptsError(f"{path}: {exc}") from exc
    user_text = str(first[1].get("content", ""))
    if not all(f"<answer>{entry}</answer>" in user_text for entry in entries):
        raise RewritePromptsError(f"{path}: user must put each entry in <answer></answer>")
    if "SAMPLE-VIOLATION" not in str(retry[1].get("content", "")):
        raise RewritePromptsError(f"{path}: user must name the violations when given")


@functools.cache
def shipped_prompts() -> RewritePrompts:
    """The prompts in the source tree, loaded once."""
    return load_rewrite_prompts(PROJECT_DIR / "prompts")


def make_client(settings: Settings) -> AsyncOpenAI:
    """A client for LLM_BASE_URL that never retries: one call, one outcome for the job."""
    if settings.llm_base_url is None:
        raise ValueError("LLM_BASE_URL is not set: the rewrite is off")
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else NO_KEY
    return AsyncOpenAI(
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout,
        max_retries=0,
    )


def max_tokens_for(request: SectionRequest) -> int:
    """The reply's token budget, in proportion to the answers it rewrites."""
    return min(MAX_TOKENS, max(MIN_TOKENS, 3 * request.answer_chars + 256))


async def rewrite_section(
    client: AsyncOpenAI,
    model: str,
    request: SectionRequest,
    *,
    violations: Sequence[str] = (),
    prompts: RewritePrompts | None = None,
) -> str:
    """The section as prose: paragraphs separated by one blank line. One request; raises
    ModelFailed. `violations` (the fact check's findings on the last draft) make it a retry."""
    messages = (prompts or shipped_prompts()).messages(request, violations)
    started = time.monotonic()
    try:
        completion = await client.chat.completions.create(
            model=model,
            messages=messages,
            temperature=TEMPERATURE,
            max_tokens=max_tokens_for(request),
        )
        text = _reply_text(completion, request)
    except ModelFailed as failed:
        _log_failure(failed, request, started)
        raise
    except (OpenAIError, json.JSONDecodeError) as exc:
        mapped = _failure(exc)
        _log_failure(mapped, request, started)
        raise mapped from exc
    log.info(
        "rewrite of %s/%r: %d answer chars -> %d chars in %.1f s%s",
        request.language,
        request.section_title,
        request.answer_chars,
        len(text),
        time.monotonic() - started,
        " (retry)" if violations else "",
    )
    return text


def _failure(exc: OpenAIError | json.JSONDecodeError) -> ModelFailed:
    """The kind of an exception the client raised."""
    # APITimeoutError is an APIConnectionError: test it first.
    if isinstance(exc, APITimeoutError):
        return ModelFailed(FailKind.TIMEOUT)
    if isinstance(exc, APIConnectionError):
        return ModelFailed(FailKind.UNREACHABLE, type(exc.__cause__ or exc).__name__)
    if isinstance(exc, APIStatusError):
        detail = f"HTTP {exc.status_code}: {_short(exc.message)}"
        if exc.status_code == 429:
            return ModelFailed(FailKind.RATE_LIMITED, detail)
        if exc.status_code == 408:
            return ModelFailed(FailKind.TIMEOUT, detail)
        if exc.status_code >= 500:
            return ModelFailed(FailKind.SERVER_ERROR, detail)
        return ModelFailed(FailKind.REFUSED, detail)
    if isinstance(exc, APIResponseValidationError | json.JSONDecodeError):
        # A 200 whose body is not the JSON it claims (a proxy's page, a truncated body).
        return ModelFailed(FailKind.EMPTY, "the reply is not JSON")
    return ModelFailed(FailKind.REFUSED, type(exc).__name__)


def _reply_text(completion: object, request: SectionRequest) -> str:
    """The tidied text of the first choice, or ModelFailed."""
    if not isinstance(completion, ChatCompletion):
        # Without a JSON content type the client hands back the body as a string.
        raise ModelFailed(FailKind.EMPTY, "the reply is not JSON")
    # The client builds the model without validation, so any field may be missing.
    choices = getattr(completion, "choices", None) or []
    choice = choices[0] if choices else None
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None)
    finish = getattr(choice, "finish_reason", None)
    if finish == "content_filter":
        raise ModelFailed(FailKind.REFUSED, "stopped by the endpoint's content filter")
    if finish == "length":
        # Cut off at max_tokens: the facts after the cut would be missing.
        raise ModelFailed(FailKind.EMPTY, "cut off at max_tokens")
    if not isinstance(content, str):
        raise ModelFailed(FailKind.EMPTY, "no choices" if choice is None else "no content")
    text = tidy(content, request.section_title)
    if not any(char.isalnum() for char in text):
        raise ModelFailed(FailKind.EMPTY, f"no text in {len(content)} characters")
    if request.language == "zh" and not _CJK.search(text) and _has_cjk(request):
        raise ModelFailed(FailKind.EMPTY, "not written in Chinese")
    return text


_CJK = re.compile(r"[\u4e00-\u9fff]")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)
_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.MULTILINE)
_BULLET = re.compile(r"^(?:[-*•]\s+|\d{1,2}[.)]\s+|\d{1,2}、)")
_CHINESE_DIGITS = "一二三四五六七八九十"
_NUMBERING = re.compile(rf"^(?:[{_CHINESE_DIGITS}]+、|（[{_CHINESE_DIGITS}]+）|\d{{1,2}}[.、]\s*)")
_LEAD_IN = re.compile(
    r"^(?:好的|以下是|下面是|here is|here's|sure|certainly|below is)", re.IGNORECASE
)


def tidy(text: str, section_title: str) -> str:
    """The model's text as plain paragraphs: a <think> block, code fences, emphasis marks,
    list markers, a lead-in ("以下是…：") and an echo of the heading removed; one paragraph
    per line, separated by a blank line."""
    # Some chat templates open the <think> block themselves: only its end is in the reply.
    text = _THINK.sub("", text).rpartition("</think>")[2]
    text = _FENCE.sub("", text).replace("**", "")
    lines = [_BULLET.sub("", line.strip()) for line in text.splitlines()]
    paragraphs = [line.strip() for line in lines if line.strip()]
    while paragraphs and _is_preamble(paragraphs[0], section_title):
        paragraphs.pop(0)
    return "\n\n".join(paragraphs)


def _is_preamble(line: str, section_title: str) -> bool:
    """A heading or a lead-in before the text proper."""
    if line.startswith("#"):
        return len(line) <= 60
    if _bare(line) == _bare(section_title):
        return True
    return len(line) <= 60 and line.endswith((":", "：")) and bool(_LEAD_IN.match(line))


def _bare(title: str) -> str:
    """A heading without its markup, numbering and trailing colon, for comparison."""
    title = _NUMBERING.sub("", title.strip().strip("#*").strip())
    return title.rstrip(":：").strip().casefold()


def _has_cjk(request: SectionRequest) -> bool:
    return any(_CJK.search(entry) for _, entries in request.answers for entry in entries)


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= _DETAIL_CHARS else message[: _DETAIL_CHARS - 1] + "…"


def _log_failure(failed: ModelFailed, request: SectionRequest, started: float) -> None:
    log.warning(
        "rewrite of %s/%r failed after %.1f s: %s",
        request.language,
        request.section_title,
        time.monotonic() - started,
        failed,
    )
