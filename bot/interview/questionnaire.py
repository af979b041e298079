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
    # The one follow-up to a thin answer, asking for what it lacks (`substance.Lack`):
    # `follow_up` for more detail (too short); `follow_up_figure` for a figure or comparison
    # (none given; `follow_up` if unset); `follow_up_collective` for the cadre's own part
    # (only "we" or the unit did it); `follow_up_stock` for the fact behind a stock phrase
    # (取得了较好成绩 and nothing concrete). The last two are required where the review's
    # rules for them apply to the question (checked when the rules are loaded).
    follow_up: str | None = None
    follow_up_figure: str | None = None
    follow_up_collective: str | None = None
    follow_up_stock: str | None = None
    # Which appraisal dimension the answer documents, if any; the pre-submission review
    # reads coverage of 德能勤绩廉 from these tags, not from keywords in the answers.
    dimension: Dimension | None = None
    # The questionnaire version the question was added in: an interview asked with an
    # earlier version does not have it (see `Questionnaire.as_of`).
    since: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _follow_up_when_checked(self) -> Question:
        if (self.min_chars or self.needs_figure) and not self.follow_up:
            raise ValueError(f"question {self.id!r} checks substance but has no follow_up")
        return self

    def follow_up_for(self, lack: str) -> str:
        """The follow-up asking for what an answer lacks ("length", "figure", "collective"
        or "stock"); the detail one where the question has none of its own for the lack."""
        return self._follow_up_of(lack) or self.follow_up or ""

    def asks_for(self, lack: str) -> bool:
        """Whether the question has a follow-up for this lack (for a figure, the detail one
        will do)."""
        return bool(self._follow_up_of(lack))

    def _follow_up_of(self, lack: str) -> str | None:
        return {
            "length": self.follow_up,
            "figure": self.follow_up_figure or self.follow_up,
            "collective": self.follow_up_collective,
            "stock": self.follow_up_stock,
        }.get(lack)


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
    # Raised when a question is added; each interview keeps the version it is asked with
    # (a question's `since` says which version added it).
    version: int = Field(default=1, ge=1)
    sections: tuple[Section, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _versions(self) -> Questionnaire:
        newer = [q.id for s in self.sections for q in s.questions if q.since > self.version]
        if newer:
            raise ValueError(
                f"questions added after version {self.version}: {', '.join(newer)} "
                "(raise the questionnaire's version)"
            )
        if all(q.since > 1 for s in self.sections for q in s.questions):
            raise ValueError("version 1 would have no questions: the first ones have since 1")
        return self

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

    def as_of(self, version: int) -> Questionnaire:
        """The questionnaire as it was at a version: without the questions added later
        (a section left with none is left out). The same object at this version or later."""
        version = max(version, 1)
        if version >= self.version:
            return self
        if version not in self._earlier:
            sections = []
            for section in self.sections:
                kept = tuple(q for q in section.questions if q.since <= version)
                if len(kept) == len(section.questions):
                    sections.append(section)
                elif kept:
                    sections.append(section.model_copy(update={"questions": kept}))
            # Built anew, not copied: the cached lookups belong to this version's questions.
            fields = self.model_dump(exclude={"version", "sections"})
            self._earlier[version] = Questionnaire(
                **fields, version=version, sections=tuple(sections)
            )
        return self._earlier[version]

    @cached_property
    def _earlier(self) -> dict[int, Questionnaire]:
        return {}

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
    _check_versions_agree(found)
    return Catalogue(found)


def _check_versions_agree(found: dict[tuple[str, Language], Questionnaire]) -> None:
    """The languages of a report type are one questionnaire: the same version, and each
    question added in the same version (an interview's version means the same in both)."""
    by_type: dict[str, list[Questionnaire]] = {}
    for questionnaire in found.values():
        by_type.setdefault(questionnaire.report_type, []).append(questionnaire)
    for report_type, versions in by_type.items():
        first, *others = versions
        since = {q.id: q.since for q in first.questions}
        for other in others:
            theirs = {q.id: q.since for q in other.questions}
            differ = sorted(i for i in since.keys() & theirs.keys() if since[i] != theirs[i])
            if other.version != first.version or differ:
                raise QuestionnaireError(
                    f"{report_type}: {first.language} and {other.language} disagree on the "
                    f"version ({first.version}, {other.version}) or on when questions were "
                    f"added ({', '.join(differ) or 'none differ'})"
                )
