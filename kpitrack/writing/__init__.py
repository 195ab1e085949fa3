"""Writing: appends and edits that lose nothing (lock, temp file, fsync, replace)."""
