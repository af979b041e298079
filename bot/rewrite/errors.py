"""The rewrite's start-up error, importable without the model's client (the command line
names it in one line whether or not polishing is configured)."""


class RewritePromptsError(ValueError):
    """A rewrite prompt file is missing or malformed; the message names the file."""
