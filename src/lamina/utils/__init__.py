"""Utilities: ``lamina.utils.data`` (datasets, loaders, splits and folds)."""
