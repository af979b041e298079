"""Is an answer thin? The checks behind the one follow-up question."""

from __future__ import annotations

import re
from enum import StrEnum

from bot.interview.questionnaire import Question

# A figure: digits (ASCII or full-width), a percentage, a Chinese numeral with a measure
# word (a lone 一 is left out: 一年来, 一个重要决定 are phrases, not figures), or an English
# number word other than "one".
_FIGURE = re.compile(
    r"[0-9０-９]|百分之|[％%]"
    r"|(?:[二两三四五六七八九十百千万亿]|一[十百千万亿])[零一二两三四五六七八九十百千万亿]*"
    r"\s*[个项次件名人户家元所座条篇天年月日倍位]"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
    r"|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|dozen|percent)\b",
    re.IGNORECASE,
)


class Lack(StrEnum):
    """What a thin answer is missing."""

    LENGTH = "length"
    FIGURE = "figure"


def lacks_substance(question: Question, text: str) -> Lack | None:
    """What the answer lacks by the question's own rules, or None if it is substantial."""
    if question.min_chars and len("".join(text.split())) < question.min_chars:
        return Lack.LENGTH
    if question.needs_figure and not _FIGURE.search(text):
        return Lack.FIGURE
    return None
