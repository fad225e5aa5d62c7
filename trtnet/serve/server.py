"""Find, start and stop ``tritonserver`` over a model repository.

The server comes from PATH (NVIDIA's Triton container puts it there, with its own backends), or from the
``nvidia-pytriton`` wheel, which bundles the binary, the Python backend and a backend stub per Python version.
With the wheel, a backend directory is assembled holding the Python backend and the stub of the running
interpreter, and ``LD_LIBRARY_PATH`` starts with this interpreter's library directory, so the stub embeds the
same libpython (and standard library) as this process, then the wheel's bundled libraries.  The stub is compiled
against numpy 1.x; the wheel is best installed apart with numpy < 2 beside it (``triton_home``), leaving this
environment's numpy alone.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


INSTALL_HINT = ("pip install --no-deps --target {home} nvidia-pytriton==0.7.0 'numpy<2' (the server side, apart "
                "from this environment), or run where tritonserver is on PATH (NVIDIA's Triton container)")
DEFAULT_HOME = Path.home() / ".cache" / "trtnet" / "triton-server"


class ServerError(RuntimeError):
    """tritonserver is missing, did not become ready, or exited."""


@dataclass(frozen=True)
class TritonInstall:
    binary: Path
    backend_dir: Path | None          # assembled backend directory; None: the binary's own default
    lib_dirs: tuple[Path, ...] = ()   # put first on LD_LIBRARY_PATH
    path_dirs: tuple[Path, ...] = ()  # put first on PATH (the stub's interpreter environment)
    origin: str = ""


def triton_home(home: str | Path | None = None) -> Path:
    """Where the server side is installed apart: ``home``, else $TRTNET_TRITON_HOME, else ~/.cache/trtnet/triton-server."""
    return Path(home or os.environ.get("TRTNET_TRITON_HOME") or DEFAULT_HOME).expanduser()


def _wheel_parts(site: Path) -> dict[str, Path]:
    base = site / "pytriton" / "tritonserver"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return {"tritonserver": base / "bin" / "tritonserver",
            "libtriton_python.so": base / "backends" / "python" / "libtriton_python.so",
            "triton_python_backend_utils.py": base / "backends" / "python" / "triton_python_backend_utils.py",
            "triton_python_backend_stub": base / "python_backend_stubs" / version / "triton_python_backend_stub"}


def _numpy_major(site: Path | None) -> int | None:
    """numpy's major version installed in ``site`` (None: this environment's), None if absent."""
    if site is None:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return int(version("numpy").split(".")[0])
        except PackageNotFoundError:
            return None
    found = sorted(site.glob("numpy-*.dist-info"))
    return int(found[-1].name.split("-")[1].split(".")[0]) if found else None


def _stub_pth(stub_site: Path | None) -> str:
    """The stand-in environment's .pth: ``stub_site`` first (numpy < 2), then this process's own site
    directories, processed as site directories (their .pth files run, editable installs included), so the stub
    imports the trtnet that is running here, not another one installed in the base interpreter."""
    import site
    dirs = [d for d in site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
            if Path(d).is_dir()]
    lines = [str(stub_site)] if stub_site is not None else []
    lines.append("import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs))
    return "\n".join(lines) + "\n"


def _assemble(site: Path, work_dir: Path, stub_site: Path | None, origin: str) -> TritonInstall:
    """A backend directory holding the Python backend and this interpreter's stub, and a stand-in virtual
    environment whose ``bin/python3`` is first on the server's PATH, so the stub (which finds its prefix through
    PATH) reads ``stub_site`` (numpy < 2, which the stub is compiled against) and then this process's
    site-packages (trtnet and its dependencies, see ``_stub_pth``)."""
    parts = _wheel_parts(site)
    missing = [f"{k} ({v})" for k, v in parts.items() if not v.is_file()]
    if missing:
        raise ServerError(f"the nvidia-pytriton wheel in {site} lacks {', '.join(missing)}")
    backend = work_dir / "backends" / "python"
    backend.mkdir(parents=True, exist_ok=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py", "triton_python_backend_stub"):
        shutil.copy2(parts[name], backend / name)
    import venv
    env = work_dir / "stub-env"
    if not (env / "pyvenv.cfg").exists():
        venv.create(env, system_site_packages=True, with_pip=False, symlinks=True)
    pure = Path(sysconfig.get_path("purelib", vars={"base": str(env)}))
    pure.mkdir(parents=True, exist_ok=True)
    (pure / "trtnet-triton-server.pth").write_text(_stub_pth(stub_site))
    path_dirs = (env / "bin",)
    libs = (Path(sysconfig.get_config_var("LIBDIR") or Path(sys.base_prefix) / "lib"), site / "nvidia_pytriton.libs")
    return TritonInstall(parts["tritonserver"], work_dir / "backends", libs, path_dirs, origin)


def find_tritonserver(work_dir: str | Path, home: str | Path | None = None) -> TritonInstall:
    """``tritonserver`` on PATH; else the nvidia-pytriton wheel installed apart in :func:`triton_home` (with
    numpy < 2 beside it); else the wheel in this environment when its numpy is < 2.  ServerError says how to
    get one."""
    on_path = shutil.which("tritonserver")
    if on_path:
        return TritonInstall(Path(on_path), origin=f"PATH ({on_path})")
    work_dir = Path(work_dir)
    home_dir = triton_home(home)
    if (home_dir / "pytriton").is_dir():
        major = _numpy_major(home_dir)
        if major is None or major >= 2:
            raise ServerError(f"{home_dir} holds nvidia-pytriton but numpy {major or 'is absent'}; its backend stub "
                              f"needs numpy < 2 beside it: " + INSTALL_HINT.format(home=home_dir))
        return _assemble(home_dir, work_dir, home_dir, f"nvidia-pytriton in {home_dir}")
    spec = importlib.util.find_spec("pytriton")        # located, not imported (its client side needs more)
    if spec is not None and spec.submodule_search_locations:
        site = Path(next(iter(spec.submodule_search_locations))).parent
        major = _numpy_major(None)
        if major is not None and major >= 2:
            raise ServerError(f"nvidia-pytriton in {site} needs numpy < 2 but this environment has numpy {major}.x; "
                              "install the server side apart: " + INSTALL_HINT.format(home=home_dir))
        return _assemble(site, work_dir, None, f"nvidia-pytriton in {site}")
    raise ServerError(f"no tritonserver on PATH and no nvidia-pytriton in {home_dir} or this environment; "
                      + INSTALL_HINT.format(home=home_dir))


@dataclass(frozen=True)
class Ports:
    host: str = "127.0.0.1"
    http: int = 8000
    grpc: int = 8001
    metrics: int = 8002

    def urls(self) -> dict[str, str]:
        return {"http": f"{self.host}:{self.http}", "grpc": f"{self.host}:{self.grpc}",
                "metrics": f"http://{self.host}:{self.metrics}/metrics"}


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct ports free on ``host`` now (bound to port 0, then released)."""
    import socket
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class TritonServer:
    """A running ``tritonserver`` in its own process group (its Python-backend stubs included)."""

    process: subprocess.Popen
    ports: Ports
    log_path: Path
    install: TritonInstall

    def reason(self) -> str:
        """Triton's own error lines from its log (``E<date> ...``), as ': line; line', or ''."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        errors = [ln.split("] ", 1)[-1].strip() for ln in lines if ln[:1] == "E" and ln[1:5].isdigit()]
        return (": " + "; ".join(errors[-3:])) if errors else ""

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def ready(self) -> bool:
        """Ready, and the HTTP port is this server's own listening socket (not an orphan's, nor anyone's)."""
        if not _listens(self.process.pid, self.ports.http):
            return False
        url = f"http://{self.ports.host}:{self.ports.http}/v2/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout_s: float = 180.0, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """True once ready; False if ``cancelled()`` turned true first; ServerError if it exited or timed out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if cancelled():
                return False
            if self.process.poll() is not None:
                raise ServerError(f"tritonserver exited with status {self.process.returncode} before it was ready"
                                  f"{self.reason()}; its log ({self.log_path}) ends:\n{self.log_tail()}")
            if self.ready():
                return True
            time.sleep(0.25)
        raise ServerError(f"tritonserver was not ready within {timeout_s:g} s; its log ({self.log_path}) ends:\n"
                          f"{self.log_tail()}")

    def processes(self) -> list[int]:
        """Live (not zombie) processes of the server's group: the server and its stubs."""
        return group_processes(self.process.pid)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM (Triton unloads its models and stops the stubs); SIGKILL for the whole group after
        ``timeout_s`` or for any stub left 5 s after the server exited.  Returns once none of it remains."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(self.process.pid)
                self.process.wait()
        deadline = time.monotonic() + 5.0
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.processes():
            _kill_group(self.process.pid)
            deadline = time.monotonic() + 5.0
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.05)

    def __enter__(self) -> "TritonServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def group_processes(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes whose process group is ``pgid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(stat.parent.name))
    return out


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP ``port`` (any address, IPv4 or IPv6), from /proc/net/tcp{,6}."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                out.add(f[9])
    return out


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself holds the socket listening on ``port`` (Linux /proc; True where /proc
    cannot tell)."""
    if not Path("/proc/net/tcp").exists():
        return True
    inodes = _listening_inodes(port)
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def check_ports_free(ports: Ports) -> None:
    """ServerError naming the first of the ports that something already listens on (checked by binding it, as
    the server would)."""
    import socket
    for what, port in (("HTTP", ports.http), ("gRPC", ports.grpc), ("metrics", ports.metrics)):
        family = socket.AF_INET6 if ":" in ports.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((ports.host, port))
            except OSError as e:
                raise ServerError(f"{what} port {port} on {ports.host} is in use ({e.strerror}); stop what holds it "
                                  f"or choose another --{what.lower()}-port") from None


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the process that started it dies, however it dies (Linux
    prctl PR_SET_PDEATHSIG); elsewhere nothing."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)            # PR_SET_PDEATHSIG = 1


def start_server(repository: str | Path, ports: Ports, work_dir: str | Path, *, log_verbose: int = 0,
                 home: str | Path | None = None, exit_timeout_s: int = 10) -> TritonServer:
    """Start tritonserver over ``repository`` (not yet ready: call ``wait_ready``); its log goes to
    ``work_dir/tritonserver.log``."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    check_ports_free(ports)
    install = find_tritonserver(work_dir, home)
    cmd = [str(install.binary), f"--model-repository={Path(repository).resolve()}",
           f"--http-address={ports.host}", f"--http-port={ports.http}",
           f"--grpc-address={ports.host}", f"--grpc-port={ports.grpc}",
           f"--metrics-address={ports.host}", f"--metrics-port={ports.metrics}",
           "--allow-metrics=true", "--allow-gpu-metrics=false", "--exit-on-error=true", "--strict-readiness=true",
           "--disable-auto-complete-config", f"--log-verbose={log_verbose}", f"--exit-timeout-secs={exit_timeout_s}"]
    if install.backend_dir is not None:
        cmd.append(f"--backend-directory={install.backend_dir}")
    env = dict(os.environ)
    for var, dirs in (("LD_LIBRARY_PATH", install.lib_dirs), ("PATH", install.path_dirs)):
        if dirs:
            env[var] = os.pathsep.join([str(p) for p in dirs] + ([env[var]] if env.get(var) else []))
    log_path = work_dir / "tritonserver.log"
    log = open(log_path, "wb")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_die_with_parent)
    except OSError as e:
        raise ServerError(f"cannot start {install.binary}: {e}") from None
    finally:
        log.close()
    return TritonServer(proc, ports, log_path, install)
