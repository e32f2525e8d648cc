"""Prompt templates, loaded as package data."""
