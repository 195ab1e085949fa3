"""The CLI commands, one module per area; each registers its commands on `kpitrack.cli.app`."""
