# -*- coding: utf-8 -*-
"""Counts the HTTP requests of a baseline module process (community.general speaks urllib).

On PYTHONPATH only for the community.general runs of the benchmark: every
``urllib.request.OpenerDirector.open`` call is one request; at exit the count is
appended to the file named by BENCH_URLLIB_COUNT_FILE (nothing when zero).
"""

import atexit
import os
import urllib.request

_PATH = os.environ.get("BENCH_URLLIB_COUNT_FILE")
_COUNT = [0]

if _PATH:
    _open = urllib.request.OpenerDirector.open

    def _counting_open(self, *args, **kwargs):
        _COUNT[0] += 1
        return _open(self, *args, **kwargs)

    urllib.request.OpenerDirector.open = _counting_open

    @atexit.register
    def _write():
        if _COUNT[0]:
            with open(_PATH, "a") as stream:
                stream.write("%d\n" % _COUNT[0])
