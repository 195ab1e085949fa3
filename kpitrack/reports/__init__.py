"""Reports: the digest's sections and export rows, built once for every renderer."""
