# -*- coding: utf-8 -*-
"""bench/memory.py's wrapper: the peak RSS it reports is the largest single process of the command's tree."""

import os
import subprocess
import sys

import pytest

MEMORY = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "memory.py")

if not sys.platform.startswith("linux"):
    pytest.skip("ru_maxrss is KiB on Linux only", allow_module_level=True)

# A child that holds `mib` MiB, then starts a grandchild holding twice as much and exits with status 3.
CHILD = ("import subprocess, sys\n"
         "mib = int(sys.argv[1])\n"
         "held = bytearray(mib << 20)\n"
         "subprocess.run([sys.executable, '-c', 'x = bytearray(%d << 20)' % (2 * mib)], check=True)\n"
         "sys.exit(3)\n")


def peak_of(tmp_path, mib):
    rss = tmp_path / "rss.txt"
    process = subprocess.run([sys.executable, MEMORY, str(rss), "--", sys.executable, "-c", CHILD, str(mib)],
                             check=False)
    return process.returncode, int(rss.read_text())


def test_the_largest_process_of_the_tree_and_the_command_s_exit_status(tmp_path):
    returncode, peak_kib = peak_of(tmp_path, 40)
    assert returncode == 3
    # The grandchild's 80 MiB, not the child's 40 MiB nor their sum (120 MiB).
    assert 80 * 1024 <= peak_kib < 115 * 1024
