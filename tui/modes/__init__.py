"""Mode jobs: what the run screen runs (solve, fix, hint), behind one interface (base.py)."""

from .base import ModeJob, Outcome, StopSwitch, StoppableModel
from .fix import FixJob
from .hint import HintJob
from .solve import RefineJob, SolveJob, refine_entry_point

__all__ = ["FixJob", "HintJob", "ModeJob", "Outcome", "RefineJob", "SolveJob", "StopSwitch", "StoppableModel",
           "refine_entry_point"]
