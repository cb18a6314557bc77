#!/usr/bin/env python3
"""How soon the console shows what another process changed, with no key pressed.

Runs the release console in a pseudo-terminal on a fresh store, then N times: `profile add`
from another process, and the time until the new profile's name is in what the console
draws, counted from that command's exit and from its start. Prints medians and the worst.

Usage (after `cargo build --release`): python3 scripts/measure_live_update.py [RUNS]
"""

import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

BINARY = os.path.join(os.path.dirname(__file__), "..", "target", "release", "jira-auth")
SECRET = "ATOA" + "x" * 72


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    root = tempfile.mkdtemp()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": root,
        "TERM": "xterm-256color",
        "JIRA_AUTH_DATA_DIR": os.path.join(root, "data"),
        "JIRA_AUTH_KEY_FILE": os.path.join(root, "key"),
        "JIRA_AUTH_SYSTEM_APP": "/nonexistent/system-app.toml",
        "NO_COLOR": "1",
    }
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(BINARY, [BINARY], env)
    # Tall enough that every profile added stays on the Home screen.
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 120, 0, 0))
    seen = bytearray()

    def read_until(needle: bytes, limit: float) -> float:
        deadline = time.monotonic() + limit
        while needle not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"the console never showed {needle!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                seen.extend(os.read(fd, 65536))
        return time.monotonic()

    read_until(b"Welcome", 10)
    times, totals = [], []
    for n in range(runs):
        name = f"live{n:03d}"
        started = time.monotonic()
        subprocess.run(
            [BINARY, "profile", "add", "--name", name,
             "--client-id", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56", "--client-secret-stdin",
             "--scopes", "read:jira-work offline_access"],
            input=SECRET.encode(), env=env, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        done = time.monotonic()
        shown = read_until(name.encode(), 5)
        times.append((shown - done) * 1000)
        totals.append((shown - started) * 1000)
    os.write(fd, b"q")
    os.waitpid(pid, 0)
    subprocess.run([BINARY, "agent", "stop"], env=env, stderr=subprocess.DEVNULL)
    print(f"change by another process -> on the console screen, {runs} runs:")
    print(f"  after the command exits: median {statistics.median(times):.1f} ms, "
          f"worst {max(times):.1f} ms (the console often has it drawn already)")
    print(f"  from the command's start (its whole run included): median "
          f"{statistics.median(totals):.1f} ms, worst {max(totals):.1f} ms")


if __name__ == "__main__":
    main()
