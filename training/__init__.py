"""Coconut Lens training package: import as `training.<module>` or run the scripts directly."""
