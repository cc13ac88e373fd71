# -*- coding: utf-8 -*-
"""Times each loop item of a play (the community.general baseline: one group per item).

Enabled only for the community.general runs of the benchmark (ANSIBLE_CALLBACKS_ENABLED=bench_items): an
item's time runs from the end of the item before it (or the task's start) to its own result, the whole
per-group cost as the controller sees it. The times are written, one per line in seconds, to the file named by
BENCH_ITEM_TIMES_FILE when the play ends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_items
    type: aggregate
    short_description: the benchmark's per-item times
    description: Writes the time of each loop item to the file named by BENCH_ITEM_TIMES_FILE.
    requirements:
      - enabled in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_items"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._last = None
        self._times = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._last = time.perf_counter()

    def _item_done(self, result):
        now = time.perf_counter()
        if self._last is not None:
            self._times.append(now - self._last)
        self._last = now

    v2_runner_item_on_ok = _item_done
    v2_runner_item_on_failed = _item_done

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_ITEM_TIMES_FILE")
        if path:
            with open(path, "w") as stream:
                stream.write("".join("%.6f\n" % t for t in self._times))
