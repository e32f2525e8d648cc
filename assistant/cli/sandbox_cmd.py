"""`orps sandbox build|status|selftest` and the `--sandbox` option shared by commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import console, err_console, main

if TYPE_CHECKING:
    from sandbox.core import Sandbox

sandbox_option = click.option(
    "--sandbox", "sandbox_choice", type=click.Choice(["auto", "docker", "local"]), default=None,
    help="Where candidates run: docker (isolated), local (weaker isolation), auto (docker if it answers).")


def warn(message: str) -> None:
    err_console.print(f"[bold yellow]WARNING:[/] {message}", soft_wrap=True)


def cli_sandbox(choice: str | None, pool_size: int | None = None) -> Sandbox:
    """Open the sandbox a command asked for; a local fallback is announced loudly on stderr.
    `pool_size` caps the warm pool for commands that run one job at a time."""
    from sandbox.core import open_sandbox

    from ..config import load_settings

    settings = load_settings().sandbox
    if pool_size is not None and pool_size < settings.pool_size:
        settings = settings.model_copy(update={"pool_size": pool_size})
    return open_sandbox(settings, choice, warn=warn)


@main.group("sandbox")
def sandbox_group() -> None:
    """Build, inspect and test the execution sandbox."""


@sandbox_group.command("build")
@click.option("--base", help="Base image with python3 (default: the configured official slim Python image).")
@click.option("--rootfs", type=click.Path(path_type=Path),
              help="Offline: import this root filesystem (directory or tar, e.g. from debootstrap) as the base.")
@click.option("--no-cache", is_flag=True, help="Rebuild every layer.")
@click.option("-q", "--quiet", is_flag=True, help="Only print the result.")
def build(base: str | None, rootfs: Path | None, no_cache: bool, quiet: bool) -> None:
    """Build the sandbox image (orps-sandbox) from sandbox/Dockerfile."""
    from sandbox.docker_backend import build_image, connect

    from ..config import load_settings

    settings = load_settings().sandbox
    client = connect()

    def progress(line: str) -> None:
        if not quiet:
            err_console.print("│ " + line, soft_wrap=True, markup=False)

    info = build_image(client, settings, base=base, rootfs=rootfs, progress=progress, nocache=no_cache)
    console.print(f"built {settings.image} ({info['id'][:19]}, {info['size_mb']} MB)")


@sandbox_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--start", is_flag=True, help="Also start the warm pool and report it, with the languages it runs.")
def status(as_json: bool, start: bool) -> None:
    """Report the Docker engine, the sandbox image, its languages and the warm pool."""
    from sandbox.api import SandboxError
    from sandbox.core import open_sandbox
    from sandbox.docker_backend import connect, image_info

    from ..config import load_settings

    settings = load_settings().sandbox
    data: dict = {"configured_backend": settings.backend, "image": settings.image, "pool_size": settings.pool_size}
    try:
        client = connect(timeout=5)
        version = client.version()
        data["engine"] = {"running": True, "version": version.get("Version"), "api": version.get("ApiVersion")}
        data["image_info"] = image_info(client, settings.image)
        from sandbox.config import LABEL
        data["containers"] = [{"name": c.name, "status": c.status, "owner": c.labels.get("org.orps.owner")}
                              for c in client.containers.list(all=True, filters={"label": LABEL})]
    except SandboxError as exc:
        data["engine"] = {"running": False, "error": str(exc)}
    from sandbox.seccomp import profiles
    filters, why = profiles()
    data["syscall_filter"] = "compiled" if filters else f"unavailable: {why}"
    if start:
        with open_sandbox(settings, None, warn=warn) as sb:
            sb.start()
            data["pool"] = sb.status()
            data["languages"] = sb.languages()
            if sb.warning:
                data["warning"] = sb.warning
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    engine = data["engine"]
    if engine["running"]:
        console.print(f"engine: Docker {engine['version']} (API {engine['api']})")
        img = data.get("image_info")
        if img:
            console.print(f"image:  {settings.image} {img['id'][:19]} ({img['size_mb']} MB, created {img['created'][:19]})")
        else:
            console.print(f"image:  {settings.image} [red]missing[/] - run `orps sandbox build`")
        console.print(f"containers: {len(data['containers'])} labelled orps sandbox containers")
    else:
        console.print(f"engine: [red]not running[/] - {engine['error']}")
        console.print("candidates would run in the local sandbox (weaker isolation)")
    console.print(f"pool size: {settings.pool_size} (configured backend: {settings.backend})")
    if data["syscall_filter"] == "compiled":
        console.print("system-call filter: compiled (no new processes, signals only to the candidate itself)")
    else:
        console.print(f"system-call filter: [bold red]{data['syscall_filter']}[/] - processes a candidate "
                      "starts are not refused", soft_wrap=True)
    if "pool" in data:
        p = data["pool"]
        console.print(f"pool: {p['backend']}, {p['live']} live / {p['pool_size']}"
                      + (f", filter {p['seccomp']}" if p.get("seccomp") else "")
                      + (f", Landlock ABI {p['landlock']}" if p.get("landlock") else
                         ", Landlock unavailable (tests' own files are not hidden from candidates)"))
        for lang in data["languages"]:
            state = lang["version"] if lang["available"] else "[red]not installed[/] in this sandbox"
            console.print(f"  {lang['id']:<7} {lang['name']:<22} {state}", markup=True, highlight=False)


@sandbox_group.command("selftest")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report only.")
@sandbox_option
def selftest(as_json: bool, sandbox_choice: str | None) -> None:
    """Run hostile candidates and report whether each one was contained (exit 0 iff all were)."""
    from sandbox.selftest import run_selftest

    with cli_sandbox(sandbox_choice) as sb:
        report = run_selftest(sb)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        from rich.table import Table
        table = Table(title=f"sandbox selftest ({sb.name})")
        table.add_column("case")
        table.add_column("contained")
        table.add_column("detail", overflow="fold")
        from rich.text import Text

        from ..textsafe import printable
        for case in report["cases"]:  # details quote what hostile programs printed: data, never markup
            table.add_row(Text(case["name"]), Text("yes", style="green") if case["contained"] else
                          Text("NO", style="bold red"), Text(printable(case["detail"])))
        console.print(table)
        console.print(f"{report['contained']}/{report['total']} contained")
    sys.exit(0 if report["contained"] == report["total"] else 1)
