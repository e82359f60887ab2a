"""Renderers: the judge's results as files (Markdown for a PR comment, JUnit for CI)."""
