"""One typed configuration: defaults, then the config file, then ORPS_* environment variables.

File: $ORPS_CONFIG, else $XDG_CONFIG_HOME/orps/config.toml (~/.config/orps/config.toml). Nested
settings use sections in the file ([sandbox]) and a double underscore in the environment
(ORPS_SANDBOX__POOL_SIZE=4).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from sandbox.config import SandboxSettings

from .errors import UserError


def config_path() -> Path:
    if os.environ.get("ORPS_CONFIG"):
        return Path(os.environ["ORPS_CONFIG"]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "orps" / "config.toml"


def data_dir() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "orps"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORPS_", env_nested_delimiter="__", extra="ignore")

    model: str = Field("embedded", description="model spec: embedded[:PATH.gguf], ollama:NAME, "
                                                "openai:URL[,URL...]#MODEL, replay:TRACE.jsonl")
    runs_dir: Path = Field(default_factory=lambda: data_dir() / "runs", description="where run traces go")
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(**overrides) -> Settings:
    """Settings from file and environment; a broken file is a one-line UserError."""
    path = config_path()
    if path.is_file():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"{path}: not a valid TOML config file: {exc}") from None
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "?"
        raise UserError(f"{path if path.is_file() else 'environment'}: invalid setting {where}: {err['msg']}") from None
