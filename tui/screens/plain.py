"""Notifications as plain text: they carry model output, file paths and error messages, and a
"[" in any of them must be shown, not read as markup (or fail to parse as it)."""

from __future__ import annotations

from typing import Any


class PlainNotify:
    """Mixed into the app's screens: `notify` defaults to markup=False."""

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        return super().notify(message, title=title, severity=severity, timeout=timeout,  # type: ignore[misc]
                              markup=markup)
