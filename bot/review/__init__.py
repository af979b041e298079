"""The pre-submission review: what an organisation department's reviewer would return a draft
for, each finding with the answer to fix.

Pure: the rules are loaded once at start-up (`load_rulebook`), and `review` reads an
interview's answers and its rendered draft, nothing else. Rules and `review` live in
`rules.py`, the detectors they run in `detectors.py`.
"""

from bot.review.rules import Finding, RuleBook, RuleBookError, load_rulebook, review

__all__ = ["Finding", "RuleBook", "RuleBookError", "load_rulebook", "review"]
