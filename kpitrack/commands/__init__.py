"""The CLI commands, one module per area: plain functions whose signatures are their
command lines, registered by `kpitrack.cli` (record, import, init, rename and review
still add themselves to `kpitrack.cli.app`)."""
