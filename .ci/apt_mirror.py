"""Print the Debian mirror this machine's apt uses (deb822 .sources or one-line sources.list)."""

import glob
import re
import sys


def mirrors():
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        text = open(path, encoding="utf-8").read()
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.+)$", stanza, re.M))
            if "deb" in fields.get("Types", "").split() and "security" not in fields.get("Suites", ""):
                for uri in fields.get("URIs", "").split():
                    yield uri
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        try:
            lines = open(path, encoding="utf-8").read().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split("#", 1)[0].split()
            if len(parts) >= 3 and parts[0] == "deb":
                uri = next(p for p in parts[1:] if not p.startswith("["))
                if "security" not in line:
                    yield uri


for uri in mirrors():
    if "debian" in uri:
        print(uri)
        sys.exit(0)
sys.exit("no Debian mirror found in the apt configuration")
