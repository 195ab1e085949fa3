"""The vocabulary: frozen model types, problems and errors, periods, safe text."""
