"""The grounded rewrite: a language model polishes a section, a fact check guards it."""
