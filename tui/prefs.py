"""The TUI's own settings: section [tui] of the orps config file (search budget, companion port).

`Settings` (assistant/config.py) ignores keys it does not know, so this section lives in the same
file without touching the engine's configuration. The settings screen writes it with
`assistant.config.save_settings`.
"""

from __future__ import annotations

import tomllib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.config import config_path
from assistant.engine.search import SearchConfig
from assistant.errors import UserError

COMPANION_PORT = 27121  # the port Competitive Companion's "custom" target and cph use


class TuiPrefs(BaseModel):
    model_config = ConfigDict(extra="ignore")

    method: Literal["orps", "bon", "cot", "reflexion"] = "orps"
    max_calls: int | None = Field(40, ge=1, description="model-call budget")
    max_tokens: int | None = Field(None, ge=1)
    max_wall_s: float | None = Field(None, gt=0)
    rounds: int = Field(3, ge=0)
    beam: int = Field(2, ge=1)
    initial: int = Field(4, ge=1)
    companion: bool = Field(True, description="listen for Competitive Companion")
    companion_port: int = Field(COMPANION_PORT, ge=1, le=65535)

    def search_config(self, **overrides: Any) -> SearchConfig:
        values = dict(method=self.method, max_calls=self.max_calls, max_tokens=self.max_tokens,
                      max_wall_s=self.max_wall_s, rounds=self.rounds, beam=self.beam, initial=self.initial)
        values.update(overrides)
        return SearchConfig(**values)

    def as_section(self) -> dict[str, Any]:
        """What goes under [tui] (None values are dropped from the file by save_settings)."""
        return self.model_dump()


def load_prefs() -> TuiPrefs:
    """[tui] from the config file; a bad section is a one-line UserError."""
    path = config_path()
    section: dict[str, Any] = {}
    if path.is_file():
        try:
            section = tomllib.loads(path.read_text(encoding="utf-8")).get("tui") or {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"{path}: not a valid TOML config file: {exc}") from None
    if not isinstance(section, dict):
        raise UserError(f"{path}: [tui] must be a table")
    try:
        return TuiPrefs.model_validate(section)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "?"
        raise UserError(f"{path}: invalid setting tui.{where}: {err['msg']}") from None
