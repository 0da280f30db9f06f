"""make demo's Voila: the command its recipe runs culls idle kernels (with seconds, for the test)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_command(port: int) -> tuple[dict, list[str]]:
    """The Voila command of `make demo`, as make expands it (-n: printed, not run)."""
    settings = ["DEMO=/demo-venv", "CULL_SECONDS=2", "CULL_INTERVAL=1", f"PORT={port}"]
    printed = subprocess.run(["make", "-n", "-s", "demo", *settings], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    line = printed.replace("\\\n", " ").strip().splitlines()[-1]
    words = shlex.split(line)
    env = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    command = [word for word in words if not re.match(r"^[A-Z_]+=", word)]
    assert command[0] == "/demo-venv/bin/voila"
    return env, [sys.executable, "-m", "voila", *command[1:]]


def test_the_demo_culls_a_kernel_whose_page_is_gone():
    port = free_port()
    env, command = demo_command(port)
    assert "--template=orq" in command
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env, "ORQ_NB_OFFLINE": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as answer:
                    assert answer.status == 200  # the page ran the notebook in a kernel, then left
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "voila did not start"
                time.sleep(0.5)
        time.sleep(8)  # idle 2 s, checked every second
    finally:
        proc.terminate()
        log = proc.communicate(timeout=30)[1]
    assert "Kernel started" in log and "Culling 'idle' kernel" in log, log[-2000:]
