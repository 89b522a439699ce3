"""Turning results into what is shown: plain text, JSON, CSV, NPZ and Rich tables."""
