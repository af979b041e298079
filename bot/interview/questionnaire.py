"""Questionnaires are data: `prompts/<report_type>/<lang>/questions.yaml`, validated when loaded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

# The five appraisal dimensions 德、能、勤、绩、廉 (political conduct, ability, diligence,
# achievements, integrity): a question's tag says which one its answer documents.
Dimension = Literal["de", "neng", "qin", "ji", "lian"]
DIMENSIONS: tuple[Dimension, ...] = ("de", "neng", "qin", "ji", "lian")

_ID = r"^[a-z][a-z0-9_]{0,31}$"
MAX_QUESTIONS = 60  # Telegram allows 100 buttons per message


class QuestionnaireError(ValueError):
    """A questionnaire file is missing or does not follow the schema."""


class Question(BaseModel):
    """One question of an interview."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1, max_length=40)
    # The report's subheading for the answer, in its register (坚持攻坚克难，着力破解……);
    # the label where there is none.
    heading: str | None = None
    text: str = Field(min_length=1)
    hint: str | None = None
    multiple: bool = False
    # A list's items are buttons in /edit; Telegram allows 100 buttons per message.
    max_entries: int = Field(default=20, ge=1, le=50)
    skippable: bool = True
    min_chars: int = Field(default=0, ge=0)
    needs_figure: bool = False
    # The one follow-up to a thin answer: `follow_up` asks for more detail (too short);
    # `follow_up_figure` for a figure or comparison (none given; `follow_up` if unset).
    follow_up: str | None = None
    follow_up_figure: str | None = None
    # Which appraisal dimension the answer documents, if any; the pre-submission review
    # reads coverage of 德能勤绩廉 from these tags, not from keywords in the answers.
    dimension: Dimension | None = None

    @model_validator(mode="after")
    def _follow_up_when_checked(self) -> Question:
        if (self.min_chars or self.needs_figure) and not self.follow_up:
            raise ValueError(f"question {self.id!r} checks substance but has no follow_up")
        return self

    def follow_up_for(self, lack: str) -> str:
        """The follow-up asking for what an answer lacks ("length" or "figure")."""
        if lack == "figure" and self.follow_up_figure:
            return self.follow_up_figure
        return self.follow_up or ""


class Section(BaseModel):
    """A section of the report: a heading and its questions, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    # The sentence that opens the section in the report.
    lead: str | None = None
    questions: tuple[Question, ...] = Field(min_length=1)


class Questionnaire(BaseModel):
    """A report type in one language: its name and its sections of questions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    report_type: str = Field(pattern=_ID)
    language: Language
    name: str = Field(min_length=1)
    description: str = ""
    sections: tuple[Section, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Questionnaire:
        section_ids = [s.id for s in self.sections]
        question_ids = [q.id for s in self.sections for q in s.questions]
        if len(question_ids) > MAX_QUESTIONS:
            raise ValueError(f"at most {MAX_QUESTIONS} questions (one button each in /status)")
        for kind, ids in (("section", section_ids), ("question", question_ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {', '.join(dupes)}")
        return self

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        """All questions in interview order."""
        return tuple(q for s in self.sections for q in s.questions)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {q.id: i for i, q in enumerate(self.questions)}

    @cached_property
    def _section_of(self) -> dict[str, int]:
        return {q.id: i for i, s in enumerate(self.sections) for q in s.questions}

    def has(self, question_id: str) -> bool:
        """Whether the questionnaire has a question with this id."""
        return question_id in self._index

    def question(self, question_id: str) -> Question:
        """The question with this id (KeyError if unknown)."""
        return self.questions[self._index[question_id]]

    def index(self, question_id: str) -> int:
        """Zero-based position of the question in interview order."""
        return self._index[question_id]

    def section_index(self, question_id: str) -> int:
        """Zero-based index of the section that holds the question."""
        return self._section_of[question_id]

    def first(self) -> str:
        """Id of the first question."""
        return self.questions[0].id

    def after(self, question_id: str) -> str | None:
        """Id of the question after this one, or None at the end."""
        i = self._index[question_id] + 1
        return self.questions[i].id if i < len(self.questions) else None

    def before(self, question_id: str) -> str | None:
        """Id of the question before this one, or None at the start."""
        i = self._index[question_id] - 1
        return self.questions[i].id if i >= 0 else None


@dataclass(frozen=True)
class Catalogue:
    """Every questionnaire found under prompts/, by (report_type, language)."""

    by_key: dict[tuple[str, Language], Questionnaire]

    def get(self, report_type: str, language: Language) -> Questionnaire:
        """The questionnaire of this type and language (KeyError if absent)."""
        return self.by_key[(report_type, language)]

    def report_types(self, language: Language) -> list[Questionnaire]:
        """Questionnaires available in a language, sorted by report type id."""
        return sorted(
            (q for (_, lang), q in self.by_key.items() if lang == language),
            key=lambda q: q.report_type,
        )

    def __iter__(self) -> Iterator[Questionnaire]:
        return iter(self.by_key.values())


def load_questionnaire(path: Path) -> Questionnaire:
    """Parse and validate one questions.yaml."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Questionnaire.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise QuestionnaireError(f"{path}: {exc}") from exc


def load_catalogue(prompts_dir: Path) -> Catalogue:
    """Load every `<report_type>/<lang>/questions.yaml` under prompts_dir."""
    found: dict[tuple[str, Language], Questionnaire] = {}
    for path in sorted(prompts_dir.glob("*/*/questions.yaml")):
        questionnaire = load_questionnaire(path)
        report_type, language = path.parent.parent.name, path.parent.name
        if (questionnaire.report_type, questionnaire.language) != (report_type, language):
            raise QuestionnaireError(
                f"{path}: declares {questionnaire.report_type}/{questionnaire.language}, "
                f"but lives under {report_type}/{language}"
            )
        found[(questionnaire.report_type, questionnaire.language)] = questionnaire
    if not found:
        raise QuestionnaireError(
            f"no questionnaires found under {prompts_dir}: set PROMPTS_DIR to the prompts/ "
            "folder, or install from the source tree with `pip install -e .`"
        )
    return Catalogue(found)
