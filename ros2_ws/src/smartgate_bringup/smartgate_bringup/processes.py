"""Start the stack's node processes and make sure none outlives the supervisor.

Each node runs in its own session (process group) with its output in a log file; the kernel sends
it SIGTERM if the supervisor dies (PR_SET_PDEATHSIG), and stop() escalates SIGINT -> SIGTERM ->
SIGKILL on the whole group, so nothing is left running on success, failure or Ctrl-C.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    ctypes.CDLL('libc.so.6', use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class NodeDied(RuntimeError):
    """A node process exited while the stack was meant to be running."""


@dataclass
class Managed:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def log_tail(self, lines=15) -> str:
        try:
            text = self.log_path.read_text(errors='replace').strip().splitlines()
        except OSError:
            return ''
        return '\n'.join(text[-lines:])


class ProcessGroup:
    """A set of node processes; use as a context manager so they are always stopped."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: list[Managed] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, name, argv, env=None):
        log_path = self.log_dir / f'{name}.log'
        log = open(log_path, 'wb')
        try:
            popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.procs.append(Managed(name, popen, log_path))

    def check(self):
        """Raise NodeDied naming the first process that has exited, with the end of its log."""
        for m in self.procs:
            code = m.popen.poll()
            if code is not None:
                raise NodeDied(f'node {m.name} exited with code {code}; its log ({m.log_path}) ends:\n'
                               f'{m.log_tail()}')

    def stop(self, grace_s=5.0):
        """SIGINT every group, then SIGTERM, then SIGKILL, until all have exited."""
        for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            alive = [m for m in self.procs if m.popen.poll() is None]
            if not alive:
                break
            for m in alive:
                try:
                    os.killpg(m.popen.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and any(m.popen.poll() is None for m in alive):
                time.sleep(0.05)
        for m in self.procs:       # stragglers that a node left in its group
            try:
                os.killpg(m.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
