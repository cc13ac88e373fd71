"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test creates its sanity-test virtual environments without pip and
bootstraps pip with a get-pip.py script that it downloads from a host that is
not reachable here. When a file exists at ~/.ansible/test/cache/get_pip_X_Y.py
it is used instead; scripts/sanity.sh installs this file there.

Like get-pip.py it takes pip-install arguments (e.g. `pip==24.2
--disable-pip-version-check --no-setuptools --no-wheel`), but instead of an
embedded pip wheel it runs the pip wheel bundled with Python's ensurepip to
install the requested packages from the package index.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
import zipfile


def main() -> int:
    import ensurepip

    wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))
    if not wheels:
        print("get-pip stand-in: no bundled pip wheel in ensurepip", file=sys.stderr)
        return 1

    # Same as get-pip.py: these two options are its own, not pip's.
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]

    tmp = tempfile.mkdtemp(prefix="get-pip-")
    try:
        with zipfile.ZipFile(wheels[-1]) as whl:
            whl.extractall(tmp)
        sys.path.insert(0, tmp)
        from pip._internal.cli.main import main as pip_main

        return pip_main(["install", *args])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
