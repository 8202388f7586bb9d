"""Opens TAP devices and runs a command that inherits them.

Node.js cannot issue the TUNSETIFF ioctl that attaches a file descriptor to a TAP device, so this
launcher does it: for each NAME it creates the TAP device NAME (Ethernet frames, no packet-info
header) in the current network namespace, keeps its descriptor open across exec, and replaces itself
with COMMAND, appending `--tap NAME=FD` for each device. The devices vanish when the command exits.

    /usr/bin/python3 open-taps.py NAME... -- COMMAND [ARG...]
"""

import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def main() -> None:
    if "--" not in sys.argv:
        sys.exit("usage: open-taps.py NAME... -- COMMAND [ARG...]")
    split = sys.argv.index("--")
    names, command = sys.argv[1:split], sys.argv[split + 1 :]
    extra = []
    for name in names:
        if not name or len(name) > 15:
            sys.exit(f"open-taps: bad interface name {name!r}")
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
        os.set_inheritable(fd, True)
        extra += ["--tap", f"{name}={fd}"]
    os.execvp(command[0], command + extra)


main()
