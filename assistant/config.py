"""One typed configuration: defaults, then the config file, then ORPS_* environment variables.

File: $ORPS_CONFIG, else $XDG_CONFIG_HOME/orps/config.toml (~/.config/orps/config.toml). Nested
settings use sections in the file ([sandbox]) and a double underscore in the environment
(ORPS_SANDBOX__POOL_SIZE=4).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
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
    language: str = Field("python", description="the language `orps solve` (and a Competitive Companion push) "
                                                "writes: a key of the language table (python, pypy, cpp, c)")
    runs_dir: Path = Field(default_factory=lambda: data_dir() / "runs", description="where run traces go")
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from sandbox.api import SandboxError
        from sandbox.languages import language
        try:
            return language(value).id
        except SandboxError as exc:
            raise ValueError(str(exc)) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(**overrides) -> Settings:
    """Settings from file and environment; a broken file, or an ORPS_CONFIG that names no file, is a
    one-line UserError."""
    path = config_path()
    if os.environ.get("ORPS_CONFIG") and not path.is_file():
        what = "is a directory" if path.is_dir() else "no such file"
        raise UserError(f"ORPS_CONFIG={os.environ['ORPS_CONFIG']}: {what} (create the config file or unset "
                        "ORPS_CONFIG)")
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


def _merge(base: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def save_settings(updates: dict[str, Any]) -> Path:
    """Merge `updates` (nested dicts are TOML sections) into the config file and write it.

    Keys the file already holds and `updates` does not name are kept; a key set to None is
    removed (TOML has no null). The result is validated as `Settings` before anything is
    written, so a bad value is a one-line UserError and the file stays as it was.
    """
    import tomli_w

    path = config_path()
    current: dict[str, Any] = {}
    if path.is_file():
        try:
            current = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"{path}: not a valid TOML config file: {exc}") from None

    def drop_none(d: dict[str, Any]) -> dict[str, Any]:
        return {k: drop_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}

    data = drop_none(_merge(current, updates))
    known = {k: v for k, v in data.items() if k in Settings.model_fields}
    try:
        Settings.model_validate(known)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "?"
        raise UserError(f"{path}: invalid setting {where}: {err['msg']}") from None
    text = tomli_w.dumps(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the config file ({exc.strerror or exc})") from None
    return path
