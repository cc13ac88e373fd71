# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error the domain (the service and its naming rules) reports to the user."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ServiceError(Exception):
    """A failure to report to the user: the original's message, then detail; plus result fields."""

    def __init__(self, message, detail=None, **result):
        text = message if not detail else "%s %s" % (message, " ".join(str(detail).split()))
        super(ServiceError, self).__init__(text)
        self.message = text
        self.result = result
