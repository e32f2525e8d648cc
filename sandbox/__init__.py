"""orps sandbox: run untrusted programs against tests under limits; verdicts and measurements."""

from .api import (ExecutionReport, Job, JudgeSpec, Limits, SandboxError, TestCase, TestResult,
                  Verdict)
from .config import SandboxSettings
from .core import Sandbox, open_sandbox

__all__ = ["ExecutionReport", "Job", "JudgeSpec", "Limits", "Sandbox", "SandboxError", "SandboxSettings",
           "TestCase", "TestResult", "Verdict", "open_sandbox"]
