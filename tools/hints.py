"""The next step for an error about a missing capability: the flag or extra that provides it, added to the
library's message (the library names values; only the CLI knows its flags)."""

from __future__ import annotations

EMULATE = ("add --emulate-engines to run the engine path (sessions, buffers, shape inputs) on the TensorRT emulator "
           "here (no speed figures)")
GRPC_STREAM = ("streaming uses Triton's gRPC port (8001 by default, HTTP's + 1), not the HTTP port: pass "
               "--triton-url HOST:8001")
TRITONSERVER = ("no tritonserver on PATH: `trtnet serve` runs one for you (it uses the nvidia-pytriton wheel's "
                "server: pip install nvidia-pytriton), or use NVIDIA's container nvcr.io/nvidia/tritonserver")


def no_gpu(e: Exception) -> Exception:
    """``e`` (a NoGpuError) with the --emulate-engines hint, same type."""
    return type(e)(f"{e}; {EMULATE}")


def stream_unreachable(e: Exception, url: str) -> Exception:
    """A streaming connection failure (``UNAVAILABLE`` / closed socket) with the gRPC-port hint."""
    return ConnectionError(f"--triton-url {url} --stream: {type(e).__name__}: {e}; {GRPC_STREAM}")
