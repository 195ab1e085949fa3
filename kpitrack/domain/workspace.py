"""A loaded workspace: its objectives, KPIs and measurements (as columns), and the files
they came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from kpitrack.domain.model import Event, Kpi, Objective, no_kpi_message
from kpitrack.domain.problems import UsageError
from kpitrack.domain.series import Measurements


def _no_measurements() -> Measurements:
    return Measurements()


@dataclass(frozen=True)
class Workspace:
    objectives: tuple[Objective, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    # Any sequence of Measurements is kept as columns (a `Measurements`).
    measurements: Measurements = field(default_factory=_no_measurements)
    files: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.measurements, Measurements):
            object.__setattr__(self, "measurements", Measurements(self.measurements))

    def kpi(self, kpi_id: str) -> Kpi | None:
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        return None

    def require_kpi(self, kpi_id: str, *, option: str | None = None) -> Kpi:
        """The KPI with this id, else a UsageError: `no KPI 'x' (did you mean 'y'?)`,
        prefixed with the option that named it (`--kpi: no KPI 'x'`)."""
        kpi = self.kpi(kpi_id)
        if kpi is None:
            raise UsageError(no_kpi_message(kpi_id, (k.id for k in self.kpis), option=option))
        return kpi

    def objective(self, objective_id: str) -> Objective | None:
        for objective in self.objectives:
            if objective.id == objective_id:
                return objective
        return None
