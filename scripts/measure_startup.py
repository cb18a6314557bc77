#!/usr/bin/env python3
"""Measures the console as a user feels it, in a real pseudo-terminal:

- release binary size;
- time from spawn to the first complete home frame (median and spread of N runs);
- resident memory right after that frame;
- CPU time used while the console sits idle for IDLE seconds.

Usage: cargo build --release && python3 scripts/measure_startup.py [runs] [idle_seconds]
Each run uses a fresh temporary store, so the numbers include creating the key and the db.
"""

import fcntl
import os
import pty
import select
import shutil
import statistics
import struct
import sys
import tempfile
import termios
import time

BINARY = os.path.join(os.path.dirname(__file__), "..", "target", "release", "jira-auth")
READY = b"q quit"  # the footer: drawn once the home screen is complete
LOADED = (b"Welcome to jira-auth", b"Integrations")
TICKS = os.sysconf("SC_CLK_TCK")


def spawn(data_dir, key_file):
    pid, fd = pty.fork()
    if pid == 0:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "TERM": "xterm-256color",
            "JIRA_AUTH_DATA_DIR": data_dir,
            "JIRA_AUTH_KEY_FILE": key_file,
        }
        os.execve(BINARY, [BINARY], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    return pid, fd


def wait_for_frame(fd, started, timeout=10.0):
    seen = b""
    while time.monotonic() - started < timeout:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if READY in seen and any(marker in seen for marker in LOADED):
                return time.monotonic() - started
    raise SystemExit(f"no complete frame within {timeout}s; got {seen[-400:]!r}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def drain(fd):
    while select.select([fd], [], [], 0)[0]:
        try:
            os.read(fd, 65536)
        except OSError:
            return


def quit_console(pid, fd):
    os.write(fd, b"q")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    print(f"binary: {os.path.realpath(BINARY)}")
    print(f"release binary size: {os.path.getsize(BINARY) / 1024 / 1024:.2f} MiB")
    frames, rss = [], []
    for run in range(runs):
        root = tempfile.mkdtemp(prefix="jira-auth-measure-")
        try:
            started = time.monotonic()
            pid, fd = spawn(os.path.join(root, "data"), os.path.join(root, "key"))
            frames.append(wait_for_frame(fd, started))
            rss.append(rss_kib(pid))
            if run == runs - 1:
                drain(fd)
                before = cpu_seconds(pid)
                deadline = time.monotonic() + idle
                redraw_bytes = 0
                while time.monotonic() < deadline:
                    if select.select([fd], [], [], 0.2)[0]:
                        redraw_bytes += len(os.read(fd, 65536))
                cpu = cpu_seconds(pid) - before
                print(f"idle {idle:.0f}s: CPU time {cpu * 1000:.0f} ms, bytes drawn {redraw_bytes}")
            code = quit_console(pid, fd)
            if code != 0:
                raise SystemExit(f"console exited {code}")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    ms = [f * 1000 for f in frames]
    print(
        f"spawn to first complete frame over {runs} runs: median {statistics.median(ms):.1f} ms "
        f"(min {min(ms):.1f}, max {max(ms):.1f})"
    )
    print(f"resident memory after the first frame: median {statistics.median(rss) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
