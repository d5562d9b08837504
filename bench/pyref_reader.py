"""The bare Python reference reader: ``os.read(fd, 65536)`` in a tight loop, nothing else.

Run by the capture benchmark with the tun descriptor inherited (``pass_fds``);
reads until SIGTERM, then prints one JSON line with what it read.
"""

import json
import os
import signal
import sys


class _Stop(Exception):
    pass


def _stop(_signum: int, _frame: object) -> None:
    raise _Stop


def main() -> None:
    fd = int(sys.argv[1])
    os.set_blocking(fd, True)
    signal.signal(signal.SIGTERM, _stop)
    n = 0
    read = os.read
    print('{"ready": true}', flush=True)
    try:
        while True:
            read(fd, 65536)
            n += 1
    except _Stop:
        pass
    print(json.dumps({"packets": n}), flush=True)


if __name__ == "__main__":
    main()
