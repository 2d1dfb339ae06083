"""Helpers for testing pagelens pipelines offline (tiny randomly initialised checkpoints)."""
