"""Where a repository's tests run: an image with its dependencies (Docker) or the host's pytest.

Docker: an image derived from the sandbox image, with a virtual environment at /opt/orps-env
holding pytest, pytest-timeout and the repository's declared dependencies: requirements files
(top-level requirements*.txt and requirements/*.txt), pyproject.toml [project] dependencies and
test/dev extras and dependency groups, setup.cfg install_requires and test extras, and whatever the
build backend declares (setup.py's install_requires and extras_require, dynamic or Poetry
metadata), asked through pip's installation report inside the build, never by parsing setup.py.
Everything goes into one pip resolve, so the project's own pins on pytest hold. A source orps does
not read (tox.ini deps, a Pipfile, ...) is a notice. The image is tagged by a hash of those files
and of the base image, so it is built once per dependency change. Only the build reaches the
network (docker build's default bridge network), with the host's pip configuration and CA bundle
copied in so pip works behind the same proxy or private index; tests later run in the sandbox's
locked-down containers with no network.

Local (no Docker): the host's own pytest runs inside the local sandbox (bubblewrap when the
machine has it); which interpreter and which confinement is reported to the user.
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import io
import json
import os
import re
import sys
import tarfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.api import Job, Limits, SandboxError, TestCase

from ...errors import UserError
from .workspace import Snapshot

ENV_IMAGE_REPO = "orps-fix-env"
ENV_PREFIX = "/opt/orps-env"
ENV_PYTHON = f"{ENV_PREFIX}/bin/python"
SANDBOX_REPO = "/repo"  # where the snapshot is mounted inside a container
RECIPE_VERSION = "2"
TEST_REQUIREMENTS = ["pytest", "pytest-timeout"]
TEST_EXTRAS = ("test", "tests", "testing", "dev")

# The derived image. Works on the Debian sandbox base (python3 from Debian, maybe without pip or
# ensurepip: then pip is bootstrapped from the host's own pip, copied into the build context) and
# on the official python:3.11-slim base (which has both).
DOCKERFILE = """\
ARG BASE=orps-sandbox
FROM ${BASE}
USER root
COPY orps-build/ /tmp/orps-build/
RUN sh /tmp/orps-build/build.sh
USER 10001:10001
"""

# What the build runs. With a project to ask (orps-build/project/), pip's installation report of it
# (a dry run: the build backend's prepare-metadata hook, setup.py included) gives the declared
# dependencies, which join the collected ones in one resolve. pytest-timeout is dropped (with a
# note) only when it cannot be installed beside the project's pinned pytest.
BUILD_SCRIPT = """\
set -eu
B=/tmp/orps-build
E=ENV_PREFIX
export PIP_CONFIG_FILE=$B/pip.conf PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \\
    PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1 PIP_NO_COLOR=1
if [ -f $B/ca.crt ]; then export SSL_CERT_FILE=$B/ca.crt REQUESTS_CA_BUNDLE=$B/ca.crt; fi
if ! python3 -m venv $E >/dev/null 2>&1; then rm -rf $E; python3 -m venv --without-pip $E; fi
PIPPATH=
if ! $E/bin/python -m pip --version >/dev/null 2>&1; then
    if [ -d $B/pip/pip ]; then echo "the base image has no pip: using the host's pip"; PIPPATH=$B/pip
    else echo "ERROR: the base image has no pip and the host's pip could not be copied in" >&2; exit 1; fi
fi
pipx() { PYTHONPATH=$PIPPATH $E/bin/python -m pip "$@"; }
: > $B/notes.txt
if [ -d $B/project ]; then
    echo "asking the project's build backend for its dependencies ($(cat $B/project-why))"
    if pipx install --dry-run --ignore-installed --no-deps --ignore-requires-python --report $B/report.json \\
            $B/project > $B/query.log 2>&1 \\
        && PYTHONPATH=$PIPPATH $E/bin/python $B/image_helper.py requirements $B/report.json $B/requirements.txt \\
            EXTRAS >> $B/query.log 2>&1; then
        tail -n 1 $B/query.log
    else
        cat $B/query.log
        # the backend's own last words (pip frames them as "[N lines of output] ... [end of output]")
        why=$(sed -n '/lines of output\\]/,/end of output\\]/p' $B/query.log | sed '1d;$d' | grep -v '^ *$' \\
            | tail -n 1 | sed 's/^ *//' | cut -c1-240)
        [ -n "$why" ] || why=$(grep -E '^ *(ERROR|error|[A-Za-z]*Error)[:]' $B/query.log | tail -n 1 | cut -c1-240)
        echo "$(cat $B/project-why): the build backend could not be asked for the project's dependencies (${why:-see the build log}); they are not installed" >> $B/notes.txt
    fi
fi
if ! pipx install -r $B/requirements.txt; then
    grep -vx pytest-timeout $B/requirements.txt > $B/requirements-no-timeout.txt
    echo "retrying without pytest-timeout"
    pipx install -r $B/requirements-no-timeout.txt
    echo "pytest-timeout cannot be installed beside this project's pytest: no per-test timeout, only the limit on the whole run" >> $B/notes.txt
fi
$E/bin/python -c "import pytest"
$E/bin/python $B/image_helper.py info > $E/orps-env.json
rm -rf $B
chmod -R a+rX $E
""".replace("ENV_PREFIX", ENV_PREFIX).replace("EXTRAS", " ".join(TEST_EXTRAS))

# the project's files are copied into the build only to ask its build backend; this caps them
PROJECT_FILE_LIMIT = 8 << 20
PROJECT_TOTAL_LIMIT = 128 << 20


def image_helper_source() -> bytes:
    from importlib import resources
    return resources.files(__package__).joinpath("image_helper.py").read_bytes()


# --------------------------------------------------------------------------- dependency files

@dataclass
class Dependencies:
    requirements: list[str]                 # lines for the generated requirements.txt
    sources: list[str]                      # repo files they came from
    notes: list[str] = field(default_factory=list)
    digest_input: list[tuple[str, str]] = field(default_factory=list)
    query: str | None = None                # why the build backend is asked (e.g. "setup.py"), else None

    def digest(self, base_id: str) -> str:
        h = hashlib.sha256()
        h.update(f"recipe {RECIPE_VERSION}\nbase {base_id}\nquery {self.query}\n".encode())
        h.update(DOCKERFILE.encode())
        h.update(BUILD_SCRIPT.encode())
        h.update(image_helper_source())
        for name, content in sorted(self.digest_input):
            h.update(f"\0{name}\0{content}".encode())
        return h.hexdigest()


_LOCAL_REQ = re.compile(r"^(-e\s+|--editable\s+)?(\.{1,2}(/.*)?|file:.*|/.*)$")


def _requirement_lines(snap: Snapshot, rel: str, seen: set[str], notes: list[str]) -> list[str]:
    """A requirements file with its `-r`/`-c` includes inlined and local-path lines dropped."""
    if rel in seen:
        return []
    seen.add(rel)
    text = snap.read(rel)
    if text is None:
        notes.append(f"{rel}: not found in the repository (skipped)")
        return []
    out = []
    for raw in text.splitlines():
        line = raw.split(" #")[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        m = re.match(r"^(-r|--requirement|-c|--constraint)\s*(?:=\s*)?(\S+)$", line)
        if m:
            inc = (Path(rel).parent / m.group(2)).as_posix()
            inc = os.path.normpath(inc)
            out += _requirement_lines(snap, inc, seen, notes)
            continue
        if _LOCAL_REQ.match(line):
            continue  # the project itself: its code is on sys.path when pytest runs from the root
        out.append(line)
    return out


def _toml(snap: Snapshot) -> dict | None:
    text = snap.read("pyproject.toml")
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{snap.root / 'pyproject.toml'}: not valid TOML: {exc}") from None


def _pyproject(data: dict, notes: list[str]) -> list[str]:
    project = data.get("project") or {}
    reqs = [r for r in project.get("dependencies") or [] if isinstance(r, str)]
    extras = project.get("optional-dependencies") or {}
    for name in TEST_EXTRAS:
        reqs += [r for r in extras.get(name) or [] if isinstance(r, str)]
    groups = data.get("dependency-groups") or {}
    for name in TEST_EXTRAS:
        reqs += [r for r in groups.get(name) or [] if isinstance(r, str)]
    poetry = (data.get("tool") or {}).get("poetry") or {}
    if poetry.get("group") or poetry.get("dev-dependencies"):
        notes.append("pyproject.toml: Poetry's dev dependencies and dependency groups are not read (its main "
                     "dependencies are, through the build backend); list test dependencies in requirements.txt")
    own = (project.get("name") or "").lower().replace("_", "-")
    # a self-reference such as "pkg[test]" in an extra names the project itself: not installable
    return [r for r in reqs if not own or re.split(r"[\s\[<>=!~;]", r, 1)[0].lower().replace("_", "-") != own]


def _backend_query(snap: Snapshot, data: dict | None) -> str | None:
    """Why the build backend must be asked for the dependencies (they are not all static), or None."""
    if snap.has_file("setup.py"):
        return "setup.py"
    if data is None or not data.get("build-system"):
        return None
    project = data.get("project")
    if project is None:
        return "pyproject.toml [build-system] (no [project] table)"
    dynamic = set(project.get("dynamic") or [])
    if dynamic & {"dependencies", "optional-dependencies"}:
        return "pyproject.toml (dynamic dependencies)"
    return None


def _lines(value: str) -> list[str]:
    return [ln.split("#")[0].strip() for ln in value.splitlines() if ln.split("#")[0].strip()]


def _ini(snap: Snapshot, rel: str) -> configparser.ConfigParser | None:
    text = snap.read(rel)
    if text is None:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise UserError(f"{snap.root / rel}: cannot be read: {str(exc).splitlines()[0]}") from None
    return parser


def _setup_cfg(parser: configparser.ConfigParser) -> list[str]:
    reqs: list[str] = []
    if parser.has_option("options", "install_requires"):
        reqs += _lines(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        for name in TEST_EXTRAS:
            if parser.has_option("options.extras_require", name):
                reqs += _lines(parser.get("options.extras_require", name))
    return reqs


def _pytest_minversion(snap: Snapshot, data: dict | None) -> tuple[str, str] | None:
    """pytest's `minversion` from the project's pytest configuration: (file, version)."""
    for rel, section in (("pytest.ini", "pytest"), ("pyproject.toml", None), ("tox.ini", "pytest"),
                         ("setup.cfg", "tool:pytest")):
        if section is None:
            value = (((data or {}).get("tool") or {}).get("pytest") or {}).get("ini_options", {}).get("minversion")
        else:
            parser = _ini(snap, rel) if snap.has_file(rel) else None
            value = parser.get(section, "minversion") if parser and parser.has_option(section, "minversion") else None
        if value and re.fullmatch(r"\d+(\.\d+)*", str(value).strip()):
            return rel, str(value).strip()
    return None


def requirement_files(snap: Snapshot) -> list[str]:
    """Top-level requirements*.txt (dev-requirements.txt too), and the .txt files of a top-level
    requirements/ directory."""
    names = []
    for rel in snap.files:
        low = rel.lower()
        if not low.endswith(".txt"):
            continue
        parts = low.split("/")
        if (len(parts) == 1 and "requirements" in low) or (len(parts) == 2 and parts[0] in ("requirements", "reqs")):
            names.append(rel)
    return sorted(names, key=lambda n: (n.lower() != "requirements.txt", "/" in n, n))


def _unread_sources(snap: Snapshot, read: set[str]) -> list[str]:
    """A note for each place dependencies are often declared that orps does not read."""
    notes = []
    tox = _ini(snap, "tox.ini") if snap.has_file("tox.ini") else None
    if tox is not None and any(tox.has_option(sec, "deps") for sec in tox.sections() if sec.startswith("testenv")):
        notes.append("tox.ini: its [testenv] deps are not read (list test dependencies and pins in "
                     "requirements-dev.txt or a test extra)")
    for rel, what in (("Pipfile", "Pipfile"), ("environment.yml", "conda environment"),
                      ("environment.yaml", "conda environment")):
        if snap.has_file(rel):
            notes.append(f"{rel}: {what} dependencies are not read (use requirements.txt or pyproject.toml)")
    for rel in snap.files:
        low = rel.lower()
        if rel not in read and low.endswith(".txt") and "requirements" in low.rsplit("/", 1)[-1] and \
                not low.startswith(("docs/", "doc/")):
            notes.append(f"{rel}: not read (only top-level requirements*.txt and requirements/*.txt are)")
    return notes


def collect_dependencies(snap: Snapshot) -> Dependencies:
    notes: list[str] = []
    reqs = list(TEST_REQUIREMENTS)
    sources = []
    digest_input = []
    seen: set[str] = set()
    for rel in requirement_files(snap):
        reqs += _requirement_lines(snap, rel, seen, notes)
        sources.append(rel)
    for rel in sorted(seen):
        digest_input.append((rel, snap.read(rel) or ""))
    data = _toml(snap)
    if data is not None:
        reqs += _pyproject(data, notes)
        sources.append("pyproject.toml")
        digest_input.append(("pyproject.toml", snap.read("pyproject.toml") or ""))
    cfg = _ini(snap, "setup.cfg") if snap.has_file("setup.cfg") else None
    if cfg is not None:
        reqs += _setup_cfg(cfg)
        sources.append("setup.cfg")
        digest_input.append(("setup.cfg", snap.read("setup.cfg") or ""))
    query = _backend_query(snap, data)
    if snap.has_file("setup.py"):
        sources.append("setup.py")
        digest_input.append(("setup.py", snap.read("setup.py") or ""))
    minversion = _pytest_minversion(snap, data)
    if minversion:
        reqs.append(f"pytest>={minversion[1]}")
        if minversion[0] not in {name for name, _ in digest_input}:
            digest_input.append((minversion[0], snap.read(minversion[0]) or ""))
    notes += _unread_sources(snap, seen)
    unique = list(dict.fromkeys(reqs))
    return Dependencies(requirements=unique, sources=sources, notes=notes, digest_input=digest_input, query=query)


# --------------------------------------------------------------------------- pip configuration

_PATH_OPTIONS = {"cert", "client-cert", "constraint", "requirement"}


def host_pip_config() -> tuple[str, dict[str, bytes]]:
    """The host's pip configuration merged into one file, plus the files it points to.

    Files named by path options (cert, constraint) are copied into the build and the option is
    rewritten to the copy; local find-links and file:// indexes (host directories the build cannot
    see) are dropped. PIP_* environment variables are folded in as pip would read them."""
    parser = configparser.ConfigParser(interpolation=None)
    candidates = [Path("/etc/xdg/pip/pip.conf"), Path("/etc/pip.conf")]
    xdg = os.environ.get("XDG_CONFIG_DIRS")
    if xdg:
        candidates = [Path(d) / "pip" / "pip.conf" for d in xdg.split(":") if d] + [Path("/etc/pip.conf")]
    home = Path.home()
    candidates += [home / ".pip" / "pip.conf",
                   Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf"]
    if os.environ.get("VIRTUAL_ENV"):
        candidates.append(Path(os.environ["VIRTUAL_ENV"]) / "pip.conf")
    if os.environ.get("PIP_CONFIG_FILE") and os.environ["PIP_CONFIG_FILE"] != os.devnull:
        candidates.append(Path(os.environ["PIP_CONFIG_FILE"]))
    for path in candidates:
        try:
            parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
    if not parser.has_section("global"):
        parser.add_section("global")
    for key, value in os.environ.items():
        if key.startswith("PIP_") and key not in ("PIP_CONFIG_FILE",):
            parser.set("global", key[4:].lower().replace("_", "-"), value)
    files: dict[str, bytes] = {}
    for section in parser.sections():
        for option, value in list(parser.items(section)):
            if option in _PATH_OPTIONS:
                src = Path(value.strip()).expanduser()
                if src.is_file():
                    name = f"conf-{option}-{section}{src.suffix}"
                    files[name] = src.read_bytes()
                    parser.set(section, option, f"/tmp/orps-build/{name}")
                else:
                    parser.remove_option(section, option)
            elif option in ("find-links", "extra-index-url", "index-url"):
                kept = [v for v in value.split() if re.match(r"^[a-z][a-z0-9+.-]*://", v) and not v.startswith("file:")]
                if kept:
                    parser.set(section, option, " ".join(kept))
                else:
                    parser.remove_option(section, option)
    buf = io.StringIO()
    parser.write(buf)
    return buf.getvalue(), files


def host_ca_bundle() -> bytes | None:
    for var in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value).read_bytes()
    for path in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(path).is_file():
            return Path(path).read_bytes()
    return None


def _host_pip_files() -> dict[str, bytes]:
    """The host's pip package (to bootstrap pip in a base image that has none)."""
    spec = importlib.util.find_spec("pip")
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(list(spec.submodule_search_locations)[0])
    files = {}
    for path in root.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            files[f"pip/pip/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return files


def project_files(snap: Snapshot, notes: list[str]) -> dict[str, bytes]:
    """The snapshot's files for the build backend query (setup.py may read README, a version file...)."""
    out: dict[str, bytes] = {}
    total, skipped = 0, []
    for rel in snap.files:
        path = snap.copy_dir / rel
        try:
            if path.is_symlink() or not path.is_file():
                continue
            size = path.stat().st_size
            if size > PROJECT_FILE_LIMIT or total + size > PROJECT_TOTAL_LIMIT:
                skipped.append(rel)
                continue
            out[rel] = path.read_bytes()
        except OSError:
            skipped.append(rel)
            continue
        total += size
    if skipped:
        notes.append(f"{len(skipped)} large files (e.g. {skipped[0]}) were left out of the copy the build backend "
                     "was asked about")
    return out


def build_context(deps: Dependencies, snap: Snapshot | None = None) -> bytes:
    conf, conf_files = host_pip_config()
    files: dict[str, bytes] = {"Dockerfile": DOCKERFILE.encode(),
                               "orps-build/build.sh": BUILD_SCRIPT.encode(),
                               "orps-build/image_helper.py": image_helper_source(),
                               "orps-build/requirements.txt": ("\n".join(deps.requirements) + "\n").encode(),
                               "orps-build/pip.conf": conf.encode()}
    if deps.query and snap is not None:
        files["orps-build/project-why"] = deps.query.encode()
        for rel, data in project_files(snap, deps.notes).items():
            files[f"orps-build/project/{rel}"] = data
    for name, data in conf_files.items():
        files[f"orps-build/{name}"] = data
    ca = host_ca_bundle()
    if ca is not None:
        files["orps-build/ca.crt"] = ca
    for name, data in _host_pip_files().items():
        files[f"orps-build/{name}"] = data
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --------------------------------------------------------------------------- the environment

@dataclass
class TestEnvironment:
    """How to run pytest on the snapshot in the chosen sandbox."""

    __test__ = False

    backend: str                 # docker | local
    image: str | None            # the derived image (docker)
    python: str                  # interpreter that runs pytest, as seen inside the sandbox
    mount_from: str              # host path of the snapshot
    mount_at: str                # where the sandbox sees it
    env: dict[str, str] = field(default_factory=dict)
    has_timeout_plugin: bool = True
    description: str = ""
    notes: list[str] = field(default_factory=list)
    cached: bool = False
    pytest_version: str | None = None

    @property
    def mounts(self) -> dict[str, str]:
        return {self.mount_from: self.mount_at}


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _pip_error(lines: list[str]) -> str:
    """pip's own error, as one line."""
    errors = [i for i, ln in enumerate(lines) if ln.startswith("ERROR:") or "error:" in ln.lower()[:12]]
    if errors:
        start = errors[0]
        picked = [ln.strip() for ln in lines[start:start + 6] if ln.strip() and not ln.startswith("Removing")]
    else:
        picked = [ln.strip() for ln in lines[-6:] if ln.strip()]
    text = " | ".join(picked).replace("/tmp/orps-build/requirements.txt", "the requirements orps collected")
    return text if len(text) <= 600 else text[:597] + "..."


def ensure_image(snap: Snapshot, base_image: str, progress: Callable[[str], None] = lambda s: None,
                 client=None, rebuild: bool = False) -> tuple[str, bool, Dependencies]:
    """The derived image for this repository's dependencies: (tag, was cached, dependencies)."""
    from sandbox.docker_backend import connect, image_info

    client = client or connect()
    base = image_info(client, base_image)
    if base is None:
        raise SandboxError(f"the sandbox image '{base_image}' is missing: build it with `orps sandbox build` "
                           "(or use `--sandbox local`)")
    deps = collect_dependencies(snap)
    tag = f"{ENV_IMAGE_REPO}:{deps.digest(base['id'])[:16]}"
    if not rebuild and image_info(client, tag) is not None:
        return tag, True, deps
    import docker

    asked = f"; asking the build backend ({deps.query})" if deps.query else ""
    progress(f"building the test environment {tag} from {', '.join(deps.sources) or 'no dependency files'} "
             f"(pytest + {len(deps.requirements) - len(TEST_REQUIREMENTS)} requirements{asked}; "
             "network used for this build only)")
    buildargs = {"BASE": base_image}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if os.environ.get(var):
            buildargs[var] = os.environ[var]
    lines: list[str] = []
    try:
        stream = client.api.build(fileobj=io.BytesIO(build_context(deps, snap)), custom_context=True, tag=tag,
                                  buildargs=buildargs, rm=True, forcerm=True, decode=True, pull=False,
                                  nocache=rebuild, labels={"org.orps.fix-env": "1"})
        for chunk in stream:
            if "stream" in chunk:
                for ln in _ANSI.sub("", chunk["stream"]).splitlines():
                    if ln.strip():
                        lines.append(ln.rstrip())
                        progress(ln.rstrip())
            elif "error" in chunk:
                what = ", ".join(deps.sources) or "pytest"
                raise UserError(f"installing the test dependencies ({what}) failed: {_pip_error(lines)}")
    except docker.errors.APIError as exc:
        raise SandboxError(f"building {tag} failed: {exc.explanation or exc}") from exc
    if image_info(client, tag) is None:
        raise SandboxError(f"building {tag} finished but the image is missing")
    return tag, False, deps


def image_env_info(tag: str, client=None) -> dict:
    """What the build recorded in the image (pytest's version, pytest-timeout, the build's notes);
    read from a created, never started, container."""
    from sandbox.docker_backend import connect

    client = client or connect()
    container = client.containers.create(tag, command=["true"], network_disabled=True,
                                         labels={"org.orps.fix-env-probe": "1"})
    try:
        stream, _ = container.get_archive(f"{ENV_PREFIX}/orps-env.json")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            fh = tar.extractfile(member) if member is not None else None
            return json.loads(fh.read().decode("utf-8")) if fh is not None else {}
    except Exception:  # an image without the record (an older recipe): nothing known
        return {}
    finally:
        container.remove(force=True)


def docker_environment(snap: Snapshot, base_image: str, progress: Callable[[str], None] = lambda s: None,
                       rebuild: bool = False) -> TestEnvironment:
    tag, cached, deps = ensure_image(snap, base_image, progress, rebuild=rebuild)
    info = image_env_info(tag)
    env = {"PATH": f"{ENV_PREFIX}/bin:/usr/local/bin:/usr/bin:/bin"}
    pythonpath = _pythonpath(snap)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    what = ", ".join(deps.sources) if deps.sources else "no dependency files"
    runner = f"pytest {info['pytest']}, " if info.get("pytest") else ""
    return TestEnvironment(backend="docker", image=tag, python=ENV_PYTHON, mount_from=str(snap.copy_dir),
                           mount_at=SANDBOX_REPO, env=env, description=f"Docker image {tag} ({runner}{what}"
                           f"{', cached' if cached else ', built now'}); tests run without network",
                           notes=deps.notes + list(info.get("notes") or []), cached=cached,
                           has_timeout_plugin=info.get("pytest_timeout") is not None if info else True,
                           pytest_version=info.get("pytest"))


def _pythonpath(snap: Snapshot) -> str:
    """A src/ layout's packages are importable when tests run from the checkout (relative path)."""
    if any(f.startswith("src/") and f.endswith(".py") for f in snap.files):
        return "src"
    return ""


# --------------------------------------------------------------------------- local: the host's pytest

def project_pythons(root: Path) -> list[str]:
    """The repository's own interpreters (its virtual environment), which know its dependencies."""
    found = []
    for name in (".venv", "venv", "env", ".env"):
        python = root / name / "bin" / "python"
        if python.exists() and (root / name / "pyvenv.cfg").is_file():
            found.append(str(python))
    return found


def active_pythons(root: Path) -> list[str]:
    """The repository's interpreters, then the active virtual environment's (it may be the project's)."""
    found = project_pythons(root)
    active = os.environ.get("VIRTUAL_ENV")
    if active and Path(active, "bin", "python").exists() and str(Path(active, "bin", "python")) not in found:
        found.append(str(Path(active, "bin", "python")))
    return found


def local_binds(snap: Snapshot) -> list[str]:
    """What the local sandbox must see read-only: the repository copy and its interpreters."""
    from sandbox.local_backend import interpreter_dirs
    binds = [str(snap.copy_dir)]
    for python in active_pythons(snap.root):
        binds += [d for d in interpreter_dirs(python) if d not in binds]
    return binds


def _local_candidates(plan_python: str, snap: Snapshot | None = None) -> list[tuple[str, dict[str, str]]]:
    cands: list[tuple[str, dict[str, str]]] = []
    if snap is not None:  # the project's own environment first: it has the project's dependencies
        cands += [(python, {}) for python in active_pythons(snap.root)]
    cands.append((sys.executable, {}))
    if os.path.realpath(plan_python) != os.path.realpath(sys.executable):
        cands.append((plan_python, {}))
    spec = importlib.util.find_spec("pytest")
    if spec is not None and spec.origin:
        site = str(Path(spec.origin).resolve().parent.parent)
        # the host's pytest under the sandbox's own interpreter (the venv may be unreachable for it)
        cands.append((plan_python, {"PYTHONPATH": site}))
    return cands


_LOCAL_CHOICE: dict[str, tuple[str, dict[str, str]]] = {}

PROBE = ("import sys, pytest\n"
         "try:\n    import pytest_timeout\n    t = 1\nexcept ImportError:\n    t = 0\n"
         "print(sys.version.split()[0], pytest.__version__, t)\n")


def local_environment(snap: Snapshot, sandbox) -> TestEnvironment:
    """Find an interpreter with pytest that the local sandbox can run; UserError when there is none."""
    plan = getattr(sandbox.backend, "plan", None)
    plan_python = plan.python if plan is not None else sys.executable
    tried = []
    cands = _local_candidates(plan_python, snap)
    worked = _LOCAL_CHOICE.get(plan_python)
    own = len(active_pythons(snap.root))
    if worked in cands[own:]:  # what worked before in this process is tried next, after the project's own
        cands.remove(worked)
        cands.insert(own, worked)
    for python, extra in cands:
        job = Job(kind="command", tests=[TestCase(name="probe", argv=[python, "-c", PROBE])],
                  env=dict(extra), limits=Limits(cpu_s=30, wall_s=60, memory_mb=1024))
        rep = sandbox.run(job)
        r = rep.results[0] if rep.results else None
        if r is not None and r.passed:
            parts = r.stdout.split()
            if len(parts) >= 3:
                version, pytest_version, timeout_plugin = parts[0], parts[1], parts[2] == "1"
                _LOCAL_CHOICE[plan_python] = (python, extra)
                env = dict(extra)
                pp = _pythonpath(snap)
                if pp:
                    env["PYTHONPATH"] = pp + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
                isolation = getattr(sandbox.backend, "isolation", "local")
                if python in project_pythons(snap.root):
                    desc = (f"the repository's own environment ({python}: Python {version}, pytest "
                            f"{pytest_version}) in the local sandbox [{isolation}]")
                else:
                    where = "the active virtual environment's" if python in active_pythons(snap.root) else "the host's"
                    desc = (f"{where} pytest {pytest_version} (Python {version}, {python}) in the local sandbox "
                            f"[{isolation}]; the repository's dependencies are whatever that Python has")
                notes = [] if timeout_plugin else [
                    "pytest-timeout is not installed for the host's pytest: no per-test timeout, "
                    "only the sandbox's limit on the whole run (pip install pytest-timeout)"]
                return TestEnvironment(backend="local", image=None, python=python, mount_from=str(snap.copy_dir),
                                       mount_at=str(snap.copy_dir), env=env, has_timeout_plugin=timeout_plugin,
                                       description=desc, notes=notes, pytest_version=pytest_version)
        tried.append(f"{python}{' +host site-packages' if extra else ''}: "
                     f"{(r.stderr.strip().splitlines() or [r.detail])[-1] if r else rep.sandbox_error}")
    raise UserError("no Python with pytest can run in the local sandbox (tried " + "; ".join(tried) +
                    "): install pytest for it, or use Docker")


__all__ = ["TestEnvironment", "collect_dependencies", "docker_environment", "local_environment",
           "ensure_image", "host_pip_config", "DOCKERFILE", "ENV_PYTHON", "SANDBOX_REPO"]
