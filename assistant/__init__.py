"""orps: execution-grounded tree refinement for code, with a local model and a sandbox."""

__version__ = "0.1.0"
