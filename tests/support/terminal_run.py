"""Runs a command under a pseudo-terminal, as a person at a terminal would.

The command gets a pty as its controlling terminal and stdin/stdout/stderr,
so that Deno would prompt for permissions there. Once a line of its output
contains "Runtime started", the metrics endpoint that line names is scraped;
then Ctrl-C is typed (the terminal driver sends SIGINT to the whole
foreground process group, as a keypress does). Prints one JSON object: the
exit status, the metrics status and what the terminal showed.

Usage: terminal_run.py TIMEOUT_SECONDS COMMAND [ARG...]
"""

import json
import os
import pty
import re
import select
import sys
import time
import urllib.request


def main() -> None:
    timeout = float(sys.argv[1])
    command = sys.argv[2:]
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    output = b""
    metrics_status = None
    interrupted = False
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            output += chunk
        if not interrupted and b"Runtime started" in output:
            match = re.search(rb'"metrics_addr":"([^"]+)"', output)
            if match:
                url = f"http://{match.group(1).decode()}/metrics"
                with urllib.request.urlopen(url, timeout=10) as response:
                    metrics_status = response.status
                    response.read()
            os.write(master, b"\x03")  # Ctrl-C
            interrupted = True
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(raw)
            break
    if status is None:
        os.kill(pid, 9)
        _, raw = os.waitpid(pid, 0)
        status = "timeout"
    print(json.dumps({
        "status": status,
        "metrics_status": metrics_status,
        "interrupted": interrupted,
        "output": output.decode(errors="replace"),
    }))


if __name__ == "__main__":
    main()
