"""Modes: solve, fix and hint, each built on the engine."""
