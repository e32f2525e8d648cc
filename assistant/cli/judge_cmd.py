"""`orps judge` (placeholder module: the command lands with the problem loaders)."""
