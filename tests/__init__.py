"""The project's own tests; a package, so test modules and helpers import as `tests.<dir>.<module>`."""
