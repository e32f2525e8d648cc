"""Sandbox settings (part of the orps configuration, section [sandbox])."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field

DEFAULT_IMAGE = "orps-sandbox"
DEFAULT_BASE = "python:3.11-slim"
LABEL = "org.orps.sandbox"


class SandboxSettings(BaseModel):
    backend: Literal["auto", "docker", "local"] = Field(
        "auto", description="auto: Docker when an engine answers, else local (weaker isolation)")
    image: str = Field(DEFAULT_IMAGE, description="sandbox image name")
    base_image: str = Field(DEFAULT_BASE, description="base for `orps sandbox build` (any image with python3)")
    pool_size: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)), ge=1, le=64,
                           description="warm containers (or local runners) kept ready")
    jobs_per_worker: int = Field(500, ge=1, description="recycle a worker after this many jobs")
    container_memory_mb: int = Field(2048, ge=128, description="cgroup memory cap per container")
    container_pids: int = Field(128, ge=16, description="cgroup process cap per container")
    container_cpus: float = Field(1.0, gt=0, description="CPUs per container")
    work_tmpfs_mb: int = Field(256, ge=16, description="size of the in-memory work directory")
    tmp_tmpfs_mb: int = Field(64, ge=8, description="size of the sandbox's /tmp and /dev/shm")
