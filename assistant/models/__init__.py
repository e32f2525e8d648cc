"""Model backends behind one async interface (see base.py); `open_model(spec)` picks one.

Specs:
    embedded[:PATH.gguf]          the built-in llama.cpp model (default: Gemma 3 270M base)
    ollama:NAME                   a model served by Ollama (NAME may carry a tag: qwen2.5-coder:7b)
    openai:URL[,URL...]#MODEL     OpenAI-compatible server(s), load-balanced
    replay:TRACE.jsonl            answers recorded in a run trace

Backend options go after a final `?` as `key=value` pairs joined by `&`, or as keyword
arguments (which win).
Examples: `embedded?n_ctx=8192`, `embedded:model.gguf?chat=1`,
`ollama:llama3.1?num_ctx=16384&keep_alive=30m`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import Completion, GenerationOptions, Message, ModelBackend, ModelError, ModelRequest, TextCallback
from .embedded import EmbeddedModel
from .ollama import OllamaModel
from .openai_compat import OpenAICompatModel
from .replay import ReplayModel
from .scripted import ScriptedModel
from .trace import RecordingModel, TraceWriter

SPEC_FORMS = ("embedded[:PATH.gguf]", "ollama:NAME", "openai:URL[,URL...]#MODEL",
              "replay:TRACE.jsonl")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected 0/1 or true/false, got {value!r}")


def _keep_alive(value: Any) -> str | float:
    """Ollama accepts a duration string ("30m", "-1") or a number of seconds."""
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text


# option name -> converter, per scheme
_OPTIONS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "embedded": {"n_ctx": int, "n_threads": int, "chat": _bool, "chat_format": str},
    "ollama": {"host": str, "num_ctx": int, "keep_alive": _keep_alive, "timeout": float},
    "openai": {"api_key": str, "timeout": float, "down_s": float, "context_tokens": int},
    "replay": {},
}


def _split_options(body: str) -> tuple[str, dict[str, str]]:
    """`...?a=1&b=2` -> ("...", {"a": "1", "b": "2"}); a trailing part that is not k=v stays."""
    head, sep, tail = body.rpartition("?")
    if not sep or not tail:
        return body, {}
    pairs = tail.split("&")
    if not all("=" in p and p.split("=", 1)[0] for p in pairs):
        return body, {}
    return head, dict(p.split("=", 1) for p in pairs)


def _typed(scheme: str, raw: dict[str, Any]) -> dict[str, Any]:
    allowed = _OPTIONS[scheme]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in allowed:
            valid = ", ".join(sorted(allowed)) or "none"
            raise ModelError(f"{scheme}: unknown model option '{key}' (valid: {valid})")
        try:
            out[key] = allowed[key](value) if isinstance(value, str) else value
        except ValueError as exc:
            raise ModelError(f"{scheme}: bad value for option '{key}': {exc}") from None
    return out


def _parse(spec: str, opts: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(scheme, rest, typed options) of a model spec; a malformed spec is a one-line `ModelError`."""
    spec = (spec or "").strip()
    scheme, colon, rest = spec.partition(":")
    scheme, spec_opts = (_split_options(scheme) if not colon else (scheme, {}))
    if colon:
        rest, spec_opts = _split_options(rest)
    scheme = scheme.strip().lower()
    if scheme not in _OPTIONS:
        raise ModelError(f"unknown model spec '{spec}': use one of {', '.join(SPEC_FORMS)}")
    options = _typed(scheme, {**spec_opts, **opts})
    if scheme == "ollama" and not rest:
        raise ModelError("ollama spec needs a model name: ollama:NAME")
    if scheme == "openai" and not rest.rpartition("#")[0]:
        raise ModelError(f"openai spec '{spec}' needs servers and a model: openai:URL[,URL...]#MODEL")
    if scheme == "replay" and not rest:
        raise ModelError("replay spec needs a trace file: replay:TRACE.jsonl")
    return scheme, rest, options


def check_spec(spec: str) -> None:
    """Check a model spec without opening the model (no model load, no connection): its form,
    its options, and that a named model or trace file exists. Errors are one-line `ModelError`s."""
    scheme, rest, _ = _parse(spec, {})
    if scheme in ("embedded", "replay") and rest:
        path = Path(rest).expanduser()
        what = "model file (expected a .gguf file)" if scheme == "embedded" else "trace file"
        if not path.is_file():
            raise ModelError(f"{path}: no such {what}")


def open_model(spec: str, **opts: Any) -> ModelBackend:
    """The backend a model spec names; errors are one-line `ModelError`s."""
    scheme, rest, options = _parse(spec, opts)
    if scheme == "embedded":
        return EmbeddedModel(rest or None, **options)
    if scheme == "ollama":
        return OllamaModel(rest, **options)
    if scheme == "openai":
        urls, _, model = rest.rpartition("#")
        return OpenAICompatModel(urls.split(","), model, **options)
    return ReplayModel(rest, **options)


__all__ = ["Completion", "EmbeddedModel", "GenerationOptions", "Message", "ModelBackend",
           "ModelError", "ModelRequest", "OllamaModel", "OpenAICompatModel", "RecordingModel",
           "ReplayModel", "ScriptedModel", "SPEC_FORMS", "TextCallback", "TraceWriter",
           "check_spec", "open_model"]
