"""Reading: KPI files and data sources into the model, with every problem located."""
