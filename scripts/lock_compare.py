"""What a virtualenv installed from ranges holds that a lock does not pin: the news `make test-latest` is
run to find (scripts/venv.sh, LOCK_COMPARE).

    python scripts/lock_compare.py LOCK FREEZE    one line per package whose version differs
"""

import re
import sys

PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s;\\]+)")
# pip's own tools: a virtualenv brings them whatever the lock says.
TOOLS = ("pip", "setuptools", "wheel")


def pins(text):
    """{normalized name: version} of every `name==version` line (PEP 503 names)."""
    found = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def differences(lock_text, freeze_text):
    locked, installed = pins(lock_text), pins(freeze_text)
    lines = []
    for name in sorted(installed):
        if name in TOOLS and name not in locked:
            continue
        if locked.get(name) != installed[name]:
            lines.append("%s %s -> %s" % (name, locked.get(name, "(not locked)"), installed[name]))
    for name in sorted(set(locked) - set(installed)):
        lines.append("%s %s -> (not installed)" % (name, locked[name]))
    return lines


def main(lock_path, freeze_path):
    with open(lock_path) as lock, open(freeze_path) as freeze:
        lines = differences(lock.read(), freeze.read())
    print("%d package(s) differ from %s%s" % (len(lines), lock_path, ":" if lines else ""))
    for line in lines:
        print("  " + line)


if __name__ == "__main__":
    main(*sys.argv[1:3])
