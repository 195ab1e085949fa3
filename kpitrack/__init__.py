"""kpitrack: KPI definitions and measurements in YAML, checked and evaluated from the terminal."""

__version__ = "0.1.0"

__all__ = ["__version__"]
