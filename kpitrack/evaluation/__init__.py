"""Evaluation: pure functions of a workspace and an explicit as-of date."""
