"""What a reviewer would return a report for: one pure detector per kind of rule.

An entry detector judges one entry of an answer on its own; a report detector looks at the
whole draft (every answer and the rendered document). Keyword lists and thresholds come from
the rule files (`prompts/<type>/<lang>/review.yaml`), already validated into the params
models below. What counts as a figure is fixed here instead, because the interview's
follow-up (`bot/interview/substance.py`) asks for one by the same test: one definition, so
the review never flags an entry the interview accepted, or the reverse. The interview also
follows an answer up at once on the rules of two entry detectors, `stock_phrase_only` and
`collective_only` (`substance.FOLLOWED_DETECTORS`): the same rule objects, so the same lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.interview.questionnaire import Dimension, Questionnaire
from bot.render.document import BlockKind, ReportDocument
from bot.render.report import without_enumerator

# Figures ----------------------------------------------------------------------------------

# Set phrases of official writing whose numerals count nothing: 四个意识 is a slogan, not four
# of anything. They are matched first, so the numeral inside is consumed and never counted.
_STOCK_PHRASES = (
    "两个维护",
    "两个确立",
    "两个务必",
    "两个大局",
    "两个一百年",
    "两个毫不动摇",
    "三个代表",
    "三个务必",
    "三个以案",
    "四个意识",
    "四个自信",
    "四个全面",
    "四个服务",
    "五位一体",
    "六个必须",
    "八项规定",
    "三会一课",
    "三重一大",
    "千家万户",
    "百年大计",
    "百年未有",
    "建党百年",
    "十年如一日",
)

_CN_NUMERAL = "零〇一二两三四五六七八九十百千万亿"
_FIGURE_PARTS = (
    r"[0-9０-９]",  # any digit: counts, amounts, percentages, dates
    r"百分之|[％%‰]",
    # A Chinese numeral with a measure word; a lone 一 is left out (一年来, 一个重要决定 are
    # phrases, not figures).
    rf"(?:[二两三四五六七八九十百千万亿]|一[十百千万亿])[{_CN_NUMERAL}]*\s*"
    r"[个项次件名人户家元所座条篇天年月日倍位期批场轮周季亩吨台套间份栋处辆]",
    # Rankings and awards.
    r"(?:排名|排位|名列|位居|位列|居)(?:全?[国省市区县州]|同[类级][^，。；]{0,4}?)?"
    r"(?:第|前)[一二三四五六七八九十]",
    r"第[一二三四五六七八九十]+名|[一二三特]等奖|荣获|获评|被评为|被授予|表彰",
    # Comparisons with a baseline or a target.
    r"同比|环比|[比较](?:上一?年|去年|年初|上季度)|与(?:上一?年|去年)相比|翻(?:了)?[一两]?番"
    r"|超额完成|提前完成|首个|首家|首批",
    r"零(?:事故|投诉|伤亡|差错|失误|信访|上访|发案|违规|违纪)",
    # English number words other than "one" (one is mostly a pronoun or "one of").
    r"\b(?:zero|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion"
    r"|dozen|percent|twice|half|a third|a quarter)\b",
    r"\byear[- ](?:on|over)[- ]year\b"
    r"|\b(?:than|on|from|over|compared (?:with|to)|against) (?:the )?"
    r"(?:last|previous|prior|preceding) year\b",
    r"\b(?:doubled|tripled|trebled|quadrupled|halved|ranked)\b"
    r"|\bfirst place\b|\brecord (?:high|low)\b",
    r"\bahead of (?:schedule|target|plan|time)\b"
    r"|\b(?:above|below|under|over|against) (?:the |its |our |my )?"
    r"(?:target|budget|plan|forecast)\b"
    r"|\b(?:exceeded|beat|surpassed|met) (?:the |its |our |my )?(?:target|goal)s?\b",
    r"\b(?:award|awards|prize|medal|commendation)\b",
)
_FIGURE = re.compile(
    "|".join(map(re.escape, _STOCK_PHRASES)) + "|(?P<figure>" + "|".join(_FIGURE_PARTS) + ")",
    re.IGNORECASE,
)


def has_figure(text: str) -> bool:
    """Whether a text gives a figure or a comparison: a number, a percentage, a ranking, an
    award, a comparison with last year or the target ("比上年", "doubled", "ahead of plan").

    The enumerator a line starts with ("1.", "2、", "（3）") numbers the item, it counts
    nothing: "1. Good results." has no figure.
    """
    return any(
        match.lastgroup == "figure"
        for line in text.splitlines()
        for match in _FIGURE.finditer(without_enumerator(line))
    )


# Keyword lists ----------------------------------------------------------------------------

_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


def _phrase_pattern(phrase: str) -> str:
    """A phrase as a pattern: spaces match any run of whitespace, either apostrophe matches,
    and an edge that is a Latin letter or digit must be a word edge ("we" is not in "were");
    Chinese has no spaces, so a CJK edge matches anywhere."""
    words = [re.escape(word).replace("'", "['’]") for word in phrase.split()]
    pattern = r"\s+".join(words)
    if _ASCII_WORD.match(phrase[0]):
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if _ASCII_WORD.match(phrase[-1]):
        pattern += r"(?![A-Za-z0-9])"
    return pattern


def _alternation(phrases: tuple[str, ...]) -> str:
    # Longest first, so an exception is preferred to a term that starts at the same place.
    return "|".join(_phrase_pattern(p) for p in sorted(phrases, key=len, reverse=True))


class Terms(BaseModel):
    """A keyword list: found when one of `terms` occurs outside every phrase of `unless_in`.

    Written in YAML as a plain list, or as `{terms: [...], unless_in: [...]}` where a term
    is also part of phrases that mean something else: 我 counts as "I", but not inside
    我们 (we), 我局 (our bureau) or 自我 (self-).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    terms: tuple[str, ...] = Field(min_length=1)
    unless_in: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        return {"terms": data} if isinstance(data, list | tuple) else data

    @model_validator(mode="after")
    def _sensible(self) -> Terms:
        for phrase in (*self.terms, *self.unless_in):
            if not phrase.strip() or phrase != phrase.strip():
                raise ValueError(f"empty or padded phrase {phrase!r}")
        lowered = [t.lower() for t in self.terms]
        useless = [p for p in self.unless_in if not any(t in p.lower() for t in lowered)]
        if useless:
            # An exception that holds no term excludes nothing: most likely a typo.
            raise ValueError(f"unless_in phrases contain none of the terms: {useless}")
        return self

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        exceptions = _alternation(self.unless_in) + "|" if self.unless_in else ""
        return re.compile(f"{exceptions}(?P<term>{_alternation(self.terms)})", re.IGNORECASE)

    def found(self, text: str) -> bool:
        """Whether a term occurs in the text outside the exceptions."""
        return any(match.lastgroup == "term" for match in self._pattern.finditer(text))

    def removed(self, text: str) -> str:
        """The text with every term outside the exceptions replaced by a space."""
        return self._pattern.sub(
            lambda match: " " if match.lastgroup == "term" else match.group(0), text
        )


# Params of each detector ------------------------------------------------------------------


class Params(BaseModel):
    """What a rule file may set for its detector (nothing, for some)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CollectiveParams(Params):
    """Words that claim a group's work, and words that show the cadre's own part in it."""

    collective: Terms
    personal: Terms


class StockParams(Params):
    """Stock phrases that state a conclusion instead of a result (取得了较好成绩, good
    results), and how much an entry may say besides them and still say nothing concrete."""

    phrases: Terms
    # Counted as CJK characters plus Latin words (see `content_size`), so one measure fits
    # both languages; each rule file sets its own.
    max_rest: int = Field(ge=0)


class CausesParams(Params):
    """Objective causes (outside the cadre's control) and signs of a subjective one."""

    objective: Terms
    subjective: Terms


class TargetParams(Params):
    """Words that set a date or a deadline (a figure counts by itself)."""

    deadline: Terms


class ShareParams(Params):
    """The largest share of all answer characters the rule's questions may take."""

    max_share: float = Field(gt=0, lt=1)


class LengthParams(Params):
    """The usual length of the rendered report, in CJK characters or in words."""

    unit: Literal["cjk_chars", "words"]
    min: int = Field(ge=0)
    max: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LengthParams:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class CoverageParams(Params):
    """Which appraisal dimensions a report must cover, and how the message names each."""

    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    names: dict[Dimension, str]

    @model_validator(mode="after")
    def _named(self) -> CoverageParams:
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError("dimensions are listed twice")
        unnamed = [d for d in self.dimensions if not self.names.get(d, "").strip()]
        if unnamed:
            raise ValueError(f"no name for dimensions: {', '.join(unnamed)}")
        return self


# Entry detectors: one entry of an answer -> flagged or not ---------------------------------


def lacks_figure(params: Params, text: str) -> bool:
    """A result with no figure or comparison."""
    return not has_figure(text)


def collective_only(params: CollectiveParams, text: str) -> bool:
    """Work credited to "we", the team or the unit, with nothing on the cadre's own part."""
    return params.collective.found(text) and not params.personal.found(text)


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")


def content_size(text: str) -> int:
    """How much a text says: its CJK characters plus its Latin words (punctuation and
    spaces left out), so "一是工作" is 4 and "We delivered" is 2."""
    return len(_CJK.findall(text)) + len(_LATIN_WORD.findall(_CJK.sub(" ", text)))


def stock_phrase_only(params: StockParams, text: str) -> bool:
    """A stock conclusion with nothing concrete behind it: a stock phrase, no figure or
    comparison, and little left once the stock phrases are taken out ("一是工作取得了较好
    成绩。", "1. Good results."; "圆满完成86户土地流转签约" has a figure and passes)."""
    if not params.phrases.found(text) or has_figure(text):
        return False
    return content_size(params.phrases.removed(text)) <= params.max_rest


def objective_causes_only(params: CausesParams, text: str) -> bool:
    """A shortcoming blamed on circumstances, with no cause on the cadre's own side."""
    return params.objective.found(text) and not params.subjective.found(text)


def lacks_target(params: TargetParams, text: str) -> bool:
    """A goal with nothing to measure it by: no figure, no date, no deadline."""
    return not has_figure(text) and not params.deadline.found(text)


# Report detectors: the whole draft -> what it is returned for ------------------------------


@dataclass(frozen=True)
class Draft:
    """Everything a report detector may read: the interview's answers, the questions the cadre
    chose to skip, and the rendered report."""

    questionnaire: Questionnaire
    answers: Mapping[str, tuple[str, ...]]
    skipped: frozenset[str]
    document: ReportDocument

    def size(self, question_id: str) -> int:
        """Characters of a question's answer, whitespace left out."""
        return sum(len("".join(entry.split())) for entry in self.answers.get(question_id, ()))

    def answered(self, question_id: str) -> bool:
        """Whether a question has an answer with any text in it."""
        return any(entry.strip() for entry in self.answers.get(question_id, ()))


@dataclass(frozen=True)
class Hit:
    """One finding of a report detector: where to fix it and the values its message shows."""

    question_id: str | None
    values: Mapping[str, str | int] = field(default_factory=dict)


def plans_share(params: ShareParams, draft: Draft, questions: tuple[str, ...]) -> list[Hit]:
    """The rule's questions (the plans) take more than their share of all answers; points at
    the longest of them, the one to shorten."""
    total = sum(draft.size(q.id) for q in draft.questionnaire.questions)
    sizes = {question_id: draft.size(question_id) for question_id in questions}
    share = sum(sizes.values()) / total if total else 0.0
    if share <= params.max_share:
        return []
    longest = max(questions, key=lambda question_id: sizes[question_id])
    return [Hit(longest, {"share": round(share * 100), "max": round(params.max_share * 100)})]


_WORD = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*")


def report_size(document: ReportDocument, unit: Literal["cjk_chars", "words"]) -> int:
    """The length of a rendered report, placeholders for missing answers left out."""
    pattern = _CJK if unit == "cjk_chars" else _WORD
    return sum(
        len(pattern.findall(block.text))
        for block in document.blocks
        if block.kind is not BlockKind.MISSING
    )


def report_length(params: LengthParams, draft: Draft, questions: tuple[str, ...]) -> list[Hit]:
    """The rendered report is far shorter or longer than the usual one of its type."""
    count = report_size(draft.document, params.unit)
    if params.min <= count <= params.max:
        return []
    return [Hit(None, {"count": count, "min": params.min, "max": params.max})]


def dimension_coverage(
    params: CoverageParams, draft: Draft, questions: tuple[str, ...]
) -> list[Hit]:
    """Each dimension none of whose tagged questions has an answer; points at the first of
    them. Coverage is read from the questionnaire's tags, never from keywords: an answer
    about integrity under another question does not make up for a missing integrity one."""
    hits = []
    for dimension in params.dimensions:
        tagged = [q.id for q in draft.questionnaire.questions if q.dimension == dimension]
        if tagged and not any(draft.answered(question_id) for question_id in tagged):
            hits.append(Hit(tagged[0], {"dimension": params.names[dimension]}))
    return hits


# The registry: the detector names rule files may use ---------------------------------------

P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class EntryDetector(Generic[P]):
    """Judges each entry of the rule's questions on its own; its message may show {label}."""

    params: type[P]
    flags: Callable[[P, str], bool]
    placeholders: frozenset[str] = frozenset({"label"})


@dataclass(frozen=True)
class ReportDetector(Generic[P]):
    """Judges the whole draft; `takes_questions` says whether the rule lists questions."""

    params: type[P]
    find: Callable[[P, Draft, tuple[str, ...]], list[Hit]]
    placeholders: frozenset[str]
    takes_questions: bool


Detector = EntryDetector[Any] | ReportDetector[Any]

DETECTORS: Mapping[str, Detector] = {
    "lacks_figure": EntryDetector(Params, lacks_figure),
    "collective_only": EntryDetector(CollectiveParams, collective_only),
    "stock_phrase_only": EntryDetector(StockParams, stock_phrase_only),
    "objective_causes_only": EntryDetector(CausesParams, objective_causes_only),
    "lacks_target": EntryDetector(TargetParams, lacks_target),
    "plans_share": ReportDetector(
        ShareParams, plans_share, frozenset({"label", "share", "max"}), takes_questions=True
    ),
    "report_length": ReportDetector(
        LengthParams, report_length, frozenset({"count", "min", "max"}), takes_questions=False
    ),
    "dimension_coverage": ReportDetector(
        CoverageParams, dimension_coverage, frozenset({"label", "dimension"}), takes_questions=False
    ),
}
