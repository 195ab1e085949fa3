"""The CLI commands, one module per area: plain functions whose signatures are their
command lines, registered by `kpitrack.cli` (`CommandName.function()`). They never
import `kpitrack.cli`."""
