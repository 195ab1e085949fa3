"""Renderers: each formats evaluated results; none of them prints or evaluates."""
