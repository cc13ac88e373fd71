# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The store file itself: reading it, an exclusive lock on it, and its atomic replacement.

No parsing here (_store.py) and no text patching (_store_patch.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import tempfile
from contextlib import contextmanager


class FileError(Exception):
    """A problem with the file, as one line (the store turns it into a StoreError)."""


def read_text(path, display_path, handle=None):
    """The file's text (UTF-8), from ``handle`` when given."""
    try:
        if handle is None:
            with open(path, "rb") as stream:
                raw = stream.read()
        else:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise FileError("cannot read store %s: %s" % (display_path, exc.strerror or exc))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileError("store %s is not UTF-8 text (byte %d)" % (display_path, exc.start))


def check_path(path, display_path):
    """Only an existing regular file is a store."""
    if os.path.isdir(path):
        raise FileError("store %s is a directory, not a file" % display_path)
    if not os.path.exists(path):
        raise FileError("store %s does not exist" % display_path)
    if not os.path.isfile(path):
        # A FIFO or a device would block or never end: only a regular file is a store.
        raise FileError("store %s is not a regular file" % display_path)


@contextmanager
def locked(path, display_path):
    """An exclusive lock on the store file itself, then its handle.

    An atomic save replaces the file, so a writer that waited on the old
    inode tries again on the new one; no lock file is left beside the store.
    """
    check_path(path, display_path)
    while True:
        try:
            handle = open(path, "rb")
        except (IOError, OSError) as exc:
            raise FileError("cannot open store %s: %s" % (display_path, exc.strerror or exc))
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            opened = os.fstat(handle.fileno())
            current = os.stat(path)
        except (IOError, OSError):
            handle.close()
            continue
        if (opened.st_ino, opened.st_dev) == (current.st_ino, current.st_dev):
            break
        handle.close()
    try:
        yield handle
    finally:
        handle.close()


def replace(path, text):
    """Write ``text`` to a temporary file beside ``path`` (same mode and owner), then rename it over."""
    directory = os.path.dirname(path)
    mode = os.stat(path)
    handle, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_path, mode.st_mode & 0o7777)
        if os.geteuid() == 0:
            os.chown(temp_path, mode.st_uid, mode.st_gid)
        os.rename(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise
    try:
        directory_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
