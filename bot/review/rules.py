"""Review rules are data: `prompts/<report_type>/<lang>/review.yaml`, validated when loaded,
and `review`, which applies them to a draft.

Each rule names a detector from `bot.review.detectors.DETECTORS`, the questions it applies
to, the detector's params, the message the cadre reads, and examples it must flag and pass
(checked by tests/test_review_rules.py, so a keyword list cannot drift from its intent).
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.interview.questionnaire import Catalogue, Language, Questionnaire
from bot.render.document import ReportDocument
from bot.review.detectors import (
    DETECTORS,
    CoverageParams,
    Detector,
    Draft,
    EntryDetector,
    Params,
)

_ID = r"^[a-z][a-z0-9_]{0,47}$"
MIN_EXAMPLES = 5
FILE_NAME = "review.yaml"


class RuleBookError(ValueError):
    """A rule file is missing, or a rule in it is invalid."""


class Repeated(BaseModel):
    """A long answer written compactly in an example: `text` repeated `repeat` times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1)
    repeat: int = Field(ge=1, le=2000)


AnswerExample = str | Repeated
# A report-level example: question id -> its answer, or the entries of a list question.
ReportExample = dict[str, AnswerExample | list[AnswerExample]]
Example = str | ReportExample


def example_answers(example: ReportExample) -> dict[str, tuple[str, ...]]:
    """A report-level example as interview answers."""

    def text(entry: AnswerExample) -> str:
        return entry if isinstance(entry, str) else entry.text * entry.repeat

    return {
        question_id: tuple(map(text, value)) if isinstance(value, list) else (text(value),)
        for question_id, value in example.items()
    }


class Examples(BaseModel):
    """What a rule must flag and what it must let pass."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    flag: tuple[Example, ...]
    pass_: tuple[Example, ...] = Field(alias="pass")

    @model_validator(mode="after")
    def _enough(self) -> Examples:
        if len(self.flag) < MIN_EXAMPLES or len(self.pass_) < MIN_EXAMPLES:
            raise ValueError(
                f"needs at least {MIN_EXAMPLES} examples to flag and {MIN_EXAMPLES} to pass, "
                f"has {len(self.flag)} and {len(self.pass_)}"
            )
        return self


def placeholders(message: str) -> set[str]:
    """The `{name}` fields of a message (ValueError if its braces are malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}


class Rule(BaseModel):
    """One thing a reviewer would return the report for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    detector: str
    questions: tuple[str, ...] = ()
    params: Params = Field(default_factory=Params, validate_default=True)
    message: str = Field(min_length=1)
    examples: Examples

    @field_validator("detector")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in DETECTORS:
            raise ValueError(f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}")
        return name

    @field_validator("params", mode="before")
    @classmethod
    def _params_of_detector(cls, data: Any, info: ValidationInfo) -> Any:
        detector = DETECTORS.get(info.data.get("detector", ""))
        if detector is None:
            return Params()  # the unknown detector is the error already reported
        return detector.params.model_validate(data if data is not None else {})

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        detector = self.spec
        wants_questions = isinstance(detector, EntryDetector) or detector.takes_questions
        if wants_questions and not self.questions:
            raise ValueError(f"detector {self.detector!r} needs the questions it applies to")
        if not wants_questions and self.questions:
            raise ValueError(f"detector {self.detector!r} takes no questions")
        if len(set(self.questions)) != len(self.questions):
            raise ValueError("a question is listed twice")
        try:
            fields = placeholders(self.message)
        except ValueError as exc:
            raise ValueError(f"message: {exc}") from exc
        unknown = fields - detector.placeholders
        if unknown:
            raise ValueError(
                f"message uses {sorted(unknown)}; this detector provides "
                f"{sorted(detector.placeholders)}"
            )
        if set(self.message) & set("<>&"):
            raise ValueError("message must be plain text (no <, > or &): it is sent as HTML")
        kind = str if isinstance(detector, EntryDetector) else dict
        for example in (*self.examples.flag, *self.examples.pass_):
            if not isinstance(example, kind):
                shape = "an answer text" if kind is str else "a mapping of question id to answer"
                raise ValueError(f"each example of {self.detector!r} is {shape}: {example!r}")
        return self

    @property
    def spec(self) -> Detector:
        """The detector this rule runs."""
        return DETECTORS[self.detector]

    @property
    def scope(self) -> Literal["entry", "report"]:
        """'entry' for a rule judging each answer entry, 'report' for the whole draft."""
        return "entry" if isinstance(self.spec, EntryDetector) else "report"


def _check_against(rule: Rule, questionnaire: Questionnaire) -> None:
    """The rule's question ids, example answers and dimensions exist in the questionnaire."""
    unknown = [q for q in rule.questions if not questionnaire.has(q)]
    if unknown:
        raise ValueError(f"unknown question ids: {', '.join(unknown)}")
    for example in (*rule.examples.flag, *rule.examples.pass_):
        if not isinstance(example, dict):
            continue
        for question_id, value in example.items():
            if not questionnaire.has(question_id):
                raise ValueError(f"example answers unknown question {question_id!r}")
            if isinstance(value, list) and not questionnaire.question(question_id).multiple:
                raise ValueError(f"example gives a list for single-answer {question_id!r}")
    if not isinstance(rule.params, CoverageParams):
        return
    tagged = {q.dimension for q in questionnaire.questions}
    untagged = [d for d in rule.params.dimensions if d not in tagged]
    if untagged:
        raise ValueError(f"no question is tagged with dimension {', '.join(untagged)}")


def load_rules(path: Path, questionnaire: Questionnaire) -> tuple[Rule, ...]:
    """Parse and validate one review.yaml against its questionnaire."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleBookError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"rules"} or not isinstance(data["rules"], list):
        raise RuleBookError(f"{path}: expected a mapping with one key, `rules`, holding a list")
    rules: list[Rule] = []
    for position, raw in enumerate(data["rules"], start=1):
        name = raw.get("id") if isinstance(raw, dict) else None
        where = f"{path}: rule {name!r}" if name else f"{path}: rule #{position}"
        try:
            rule = Rule.model_validate(raw)
            _check_against(rule, questionnaire)
        except ValidationError as exc:
            details = "; ".join(
                ": ".join(
                    part
                    for part in (
                        ".".join(map(str, e["loc"])),
                        e["msg"].removeprefix("Value error, "),
                    )
                    if part
                )
                for e in exc.errors()
            )
            raise RuleBookError(f"{where}: {details}") from exc
        except ValueError as exc:
            raise RuleBookError(f"{where}: {exc}") from exc
        if any(r.id == rule.id for r in rules):
            raise RuleBookError(f"{where}: duplicate rule id")
        rules.append(rule)
    return tuple(rules)


@dataclass(frozen=True)
class RuleBook:
    """The review rules of every questionnaire, by (report_type, language)."""

    by_key: Mapping[tuple[str, Language], tuple[Rule, ...]]

    def rules_for(self, questionnaire: Questionnaire) -> tuple[Rule, ...]:
        """The rules of a questionnaire, in file order (KeyError if it has none loaded)."""
        return self.by_key[(questionnaire.report_type, questionnaire.language)]

    def __iter__(self) -> Iterator[tuple[tuple[str, Language], tuple[Rule, ...]]]:
        return iter(self.by_key.items())


def load_rulebook(prompts_dir: Path, catalogue: Catalogue) -> RuleBook:
    """Load `<report_type>/<lang>/review.yaml` for every questionnaire of the catalogue.

    Every questionnaire needs one (`rules: []` turns the review off on purpose), so a new
    report type cannot ship without a decision on what its reviewers check.
    """
    by_key: dict[tuple[str, Language], tuple[Rule, ...]] = {}
    for questionnaire in catalogue:
        key = (questionnaire.report_type, questionnaire.language)
        path = prompts_dir / key[0] / key[1] / FILE_NAME
        if not path.is_file():
            raise RuleBookError(f"{path}: missing; every questionnaire needs its review rules")
        by_key[key] = load_rules(path, questionnaire)
    for path in sorted(prompts_dir.glob(f"*/*/{FILE_NAME}")):
        if (path.parent.parent.name, path.parent.name) not in by_key:
            raise RuleBookError(f"{path}: no questions.yaml beside it")
    return RuleBook(by_key)


# Applying the rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One reason the report may be returned.

    `question_id` is the answer to fix (None: the report as a whole); `entry` the entry of a
    list question (None: the whole answer); `message` is plain text in the questionnaire's
    language, to be escaped like any text sent as HTML (the label in it is data).
    """

    rule_id: str
    question_id: str | None
    entry: int | None
    message: str


def review(
    rulebook: RuleBook,
    questionnaire: Questionnaire,
    *,
    answers: Mapping[str, tuple[str, ...]],
    skipped: frozenset[str],
    document: ReportDocument,
) -> list[Finding]:
    """What the draft is likely to be returned for, in questionnaire order of the answer to
    fix (entries in order, then rule order); findings about the whole report come last."""
    draft = Draft(questionnaire, answers, skipped, document)
    findings: list[Finding] = []
    for rule in rulebook.rules_for(questionnaire):
        findings += _apply(rule, draft)
    last = len(questionnaire.questions)

    def position(finding: Finding) -> tuple[int, int]:
        if finding.question_id is None:
            return (last, -1)
        entry = -1 if finding.entry is None else finding.entry
        return (questionnaire.index(finding.question_id), entry)

    return sorted(findings, key=position)  # stable: rule order within the same answer


def _apply(rule: Rule, draft: Draft) -> list[Finding]:
    questionnaire = draft.questionnaire
    detector = rule.spec
    findings: list[Finding] = []
    if isinstance(detector, EntryDetector):
        for question_id in rule.questions:
            if not questionnaire.has(question_id):
                continue  # added after the version this interview is asked with
            question = questionnaire.question(question_id)
            message = _message(rule, {"label": question.label})
            for i, text in enumerate(draft.answers.get(question_id, ())):
                if detector.flags(rule.params, text):
                    entry = i if question.multiple else None
                    findings.append(Finding(rule.id, question_id, entry, message))
        return findings
    for hit in detector.find(rule.params, draft, rule.questions):
        values = dict(hit.values)
        if hit.question_id is not None:
            values["label"] = questionnaire.question(hit.question_id).label
        findings.append(Finding(rule.id, hit.question_id, None, _message(rule, values)))
    return findings


def _message(rule: Rule, values: Mapping[str, str | int]) -> str:
    return rule.message.format_map({key: str(value) for key, value in values.items()})
