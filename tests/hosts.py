"""Hosts for tests: Linux network namespaces joined by a bridge, one address each.

Each namespace is a host with its own network stack; processes start in one with
`ip netns exec NAME ...` (the `argv_prefix` of a host). This machine reaches every host
through the bridge's own address. Needs root and iproute2; `HostsUnavailable` says why
when they cannot be made.
"""

from __future__ import annotations

import os
import shutil
import subprocess


class HostsUnavailable(Exception):
    pass


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode:
        raise HostsUnavailable(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")


class Hosts:
    """Namespaces named `<tag>-<host>`, at 10.<a>.<b>.<n>/24, the bridge at .254."""

    def __init__(self, names: list[str]):
        tag = f"bo{os.getpid() % 100000}"
        self.tag, self.bridge = tag, f"{tag}br"
        net = 10, 100 + os.getpid() % 100, (os.getpid() // 100) % 250
        self.prefix = ".".join(map(str, net))
        self.address = {name: f"{self.prefix}.{i + 1}" for i, name in enumerate(names)}
        self.gateway = f"{self.prefix}.254"
        self.made: list[str] = []

    def namespace(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def argv_prefix(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(name)]

    def make(self) -> Hosts:
        if os.geteuid() != 0:
            raise HostsUnavailable("network namespaces need root")
        if shutil.which("ip") is None:
            raise HostsUnavailable("no `ip` command (iproute2)")
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            self.made.append("bridge")
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for i, (name, address) in enumerate(self.address.items()):
                ns, outside, inside = self.namespace(name), f"{self.tag}h{i}", f"{self.tag}n{i}"
                _ip("netns", "add", ns)
                self.made.append(ns)
                _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
                _ip("link", "set", inside, "netns", ns)
                _ip("link", "set", outside, "master", self.bridge, "up")
                _ip("-n", ns, "addr", "add", f"{address}/24", "dev", inside)
                _ip("-n", ns, "link", "set", inside, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except HostsUnavailable:
            self.remove()
            raise
        return self

    def remove(self) -> None:
        for made in reversed(self.made):
            if made == "bridge":
                subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            else:
                subprocess.run(["ip", "netns", "del", made], capture_output=True)
        self.made.clear()
