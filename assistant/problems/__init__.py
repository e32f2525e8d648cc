"""Problems and their loaders (online-judge-tools dirs, Competitive Companion JSON, dataset records)."""

from .loaders import load_problem
from .model import Problem

__all__ = ["Problem", "load_problem"]
