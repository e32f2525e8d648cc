"""Problems and their loaders (online-judge-tools dirs, Competitive Companion JSON, dataset records)."""

from .model import Problem

__all__ = ["Problem"]
