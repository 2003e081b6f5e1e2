"""Fixtures for end-to-end tests that drive the real `hearth` binary on the real default model.

The binary comes from $HEARTH_BIN (set by ./test.sh) or build/release; the model from
$HEARTH_CACHE_DIR/models or ~/.cache/hearth/models, where scripts/bootstrap.sh puts it.
"""
import json
import os
import pathlib
import socket
import subprocess
import time

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]


def hearth_bin() -> str:
    path = os.environ.get("HEARTH_BIN", str(REPO / "build/release/tools/hearth/hearth"))
    if not os.path.exists(path):
        pytest.skip(f"hearth binary not built at {path}; run ./test.sh")
    return path


def default_model() -> str:
    cache = os.environ.get("HEARTH_CACHE_DIR", os.path.expanduser("~/.cache/hearth"))
    path = os.path.join(cache, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(path):
        pytest.skip(f"default model not found at {path}; run scripts/bootstrap.sh test")
    return path


@pytest.fixture(scope="session")
def binary() -> str:
    return hearth_bin()


@pytest.fixture(scope="session")
def model() -> str:
    return default_model()


def run_hearth(*args, stdin=None, timeout=300):
    return subprocess.run([hearth_bin(), *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `hearth serve` process on a free loopback port, stopped with SIGINT."""

    def __init__(self, *extra_args):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"hearth-serve-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [hearth_bin(), "serve", "--model", default_model(), "--port", str(self.port),
             "--threads", "2", *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hearth serve exited early: {self.log_text()}")
            try:
                if requests.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("hearth serve did not become healthy in 120 s")

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(model):
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def scripted_server(model, tmp_path):
    """Factory: a server that replays the given outputs (through the real tokenizer and template)."""
    started = []

    def start(outputs, *extra_args):
        path = tmp_path / "scripted.json"
        path.write_text(json.dumps(outputs))
        s = Server("--scripted-outputs", str(path), *extra_args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
