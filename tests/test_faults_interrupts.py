"""Ctrl-C during the long phases: a real SIGINT, delivered while TensorRT is inside the build and calling back into
Python, stops ``build-engines`` at once (exit 130, no plan, no directory) instead of being printed and dropped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# SIGINT sent to the process itself from TensorRT's first logger callback of the build (a message that is not
# trtnet's own "building" line), exactly where a user's Ctrl-C lands during a long build.
SCRIPT = r"""
import logging, os, signal, sys
from trtnet.tools.cli import main

class Interrupt(logging.Handler):
    sent = False
    def emit(self, record):
        if not Interrupt.sent:
            Interrupt.sent = True
            print("SIGINT during the build", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGINT)

log = logging.getLogger("trtnet.tensorrt")
log.setLevel(logging.DEBUG)
log.addHandler(Interrupt())
sys.exit(main(sys.argv[1:]))
"""


def test_one_ctrl_c_inside_a_tensorrt_callback_stops_the_build(tmp_path):
    out = tmp_path / "engines"
    run = subprocess.run([sys.executable, "-c", SCRIPT, "build-engines", "--demo-size", "small", "--precision",
                          "fp32", "--optimization-level", "0", "--engines", "decoder-loop,postnet", "-o", str(out)],
                         capture_output=True, text=True, timeout=300,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert "SIGINT during the build" in run.stderr, run.stderr[-2000:]
    assert run.returncode == 130, run.stderr[-2000:]
    assert "Exception caught in log()" not in run.stderr and "interrupted" in run.stderr
    assert "built decoder-loop" not in run.stderr and "postnet" not in run.stderr.split("SIGINT during")[1]
    assert not out.exists()


def test_a_keyboard_interrupt_reaching_the_logger_is_kept_for_the_caller():
    from trtnet import flavor
    from trtnet.trt_logger import CapturingLogger
    trt = flavor.resolve().module
    logger = CapturingLogger(trt)
    logger.clear()

    def boom(*_):
        raise KeyboardInterrupt
    logger._log, saved = boom, logger._log
    try:
        logger.log(trt.ILogger.Severity.INFO, "a message")
        assert logger.interrupted
    finally:
        logger._log = saved
        logger.clear()
    assert not logger.interrupted
