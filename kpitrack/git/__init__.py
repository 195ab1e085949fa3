"""Git: the repository's past, read through one batched git process."""
