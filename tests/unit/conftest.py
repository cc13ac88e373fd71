# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared fixtures of the unit tests: files on disk and child Python processes.

The unit tests need neither Keycloak nor the network. The collection must be
importable as ``ansible_collections.waldur.keycloak`` (``make unit`` sets
PYTHONPATH to such a tree).
"""

import os
import subprocess
import sys

import pytest


class FileState(object):
    """What a test may compare about a file: bytes, mtime, inode and mode (None when absent)."""

    def __init__(self, path):
        self.path = str(path)
        try:
            stat = os.stat(self.path)
        except OSError:
            self.exists = False
            self.content = self.mtime_ns = self.inode = self.mode = self.is_dir = None
            return
        self.exists = True
        self.is_dir = os.path.isdir(self.path)
        self.mtime_ns = stat.st_mtime_ns
        self.inode = stat.st_ino
        self.mode = stat.st_mode & 0o7777
        if self.is_dir:
            self.content = sorted(os.listdir(self.path))
        else:
            with open(self.path, "rb") as stream:
                self.content = stream.read()

    def __eq__(self, other):
        return (self.exists, self.is_dir, self.content, self.mtime_ns, self.inode, self.mode) == (
            other.exists, other.is_dir, other.content, other.mtime_ns, other.inode, other.mode)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return "FileState(%s, exists=%s, %d bytes, mtime_ns=%s, inode=%s)" % (
            self.path, self.exists, len(self.content or b""), self.mtime_ns, self.inode)


@pytest.fixture
def file_state():
    """``file_state(path)``: a snapshot of a file to compare with a later one."""
    return FileState


@pytest.fixture
def write_file(tmp_path):
    """``write_file(name, content)``: write text (UTF-8) or bytes under tmp_path; return the path as a string."""

    def write(name, content):
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return str(path)

    return write


@pytest.fixture
def python_child():
    """``python_child(code, *args)``: start ``python -c code args`` seeing the same modules as this process."""

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)

    def start(code, *args):
        return subprocess.Popen([sys.executable, "-c", code] + [str(a) for a in args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    return start
