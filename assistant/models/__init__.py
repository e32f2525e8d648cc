"""Model backends behind one async interface (see base.py); `open_model(spec)` picks one."""

from .base import Completion, GenerationOptions, Message, ModelBackend, ModelError

__all__ = ["Completion", "GenerationOptions", "Message", "ModelBackend", "ModelError"]
