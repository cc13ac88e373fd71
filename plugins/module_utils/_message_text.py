# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Text from the store or Keycloak as a message shows it: cut when huge, on one line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


def shown(text, limit=80):
    """A value as a message shows it: named, not repeated in full when it is huge."""
    text = str(text)
    return text if len(text) <= limit else "%s... (%d characters)" % (text[:limit], len(text))


# Control characters (C0, C1: NEL and the CSI that starts a terminal escape), line and paragraph separators,
# bidirectional overrides and what XML 1.0 refuses: the drift report's line() macro drops the same set.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]+")


def one_line(text):
    """Text as one line of a console or a report: each run of control characters becomes a space."""
    return _NOT_ONE_LINE.sub(" ", str(text))
