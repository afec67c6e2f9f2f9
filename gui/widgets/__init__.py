"""Widgets of the desktop app; each is fed plain numpy arrays and knows nothing of the pipeline."""
