# -*- coding: utf-8 -*-
"""An independent Keycloak admin client for tests: raw HTTP with requests.

Tests check Keycloak's state with this, never only through the collection's
own client, so a bug in that client cannot hide itself.
"""

import time
import uuid

import requests


class RawAdmin(object):
    def __init__(self, url, username, password, realm="master"):
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.realm = realm
        self.http = requests.Session()
        self._token = None
        self._expires = 0

    def token(self):
        if self._token is None or time.monotonic() > self._expires:
            response = self.http.post(
                "%s/realms/%s/protocol/openid-connect/token" % (self.url, self.realm),
                data={"grant_type": "password", "client_id": "admin-cli",
                      "username": self.username, "password": self.password}, timeout=30)
            response.raise_for_status()
            body = response.json()
            self._token = body["access_token"]
            self._expires = time.monotonic() + body["expires_in"] - 15
        return self._token

    def call(self, method, path, expect=(200, 201, 204), **kwargs):
        response = self.http.request(method, self.url + "/admin" + path,
                                     headers={"Authorization": "Bearer " + self.token()}, timeout=30, **kwargs)
        if expect and response.status_code not in expect:
            raise AssertionError("%s %s -> %s %s" % (method, path, response.status_code, response.text[:300]))
        return response

    def get(self, path, **params):
        return self.call("GET", path, params=params).json()

    # realms
    def create_realm(self, name=None, **settings):
        name = name or "t-" + uuid.uuid4().hex[:10]
        body = {"realm": name, "enabled": True}
        body.update(settings)
        self.call("POST", "/realms", json=body, expect=(201,))
        return name

    def delete_realm(self, name):
        self.call("DELETE", "/realms/" + name, expect=(204, 404))

    # groups
    def create_group(self, realm, name, parent_id=None, attributes=None):
        body = {"name": name}
        if attributes:
            body["attributes"] = attributes
        path = "/realms/%s/groups" % realm + ("/%s/children" % parent_id if parent_id else "")
        response = self.call("POST", path, json=body, expect=(201,))
        return response.headers["Location"].rsplit("/", 1)[-1]

    def group(self, realm, group_id):
        response = self.call("GET", "/realms/%s/groups/%s" % (realm, group_id), expect=(200, 404))
        return response.json() if response.status_code == 200 else None

    def group_by_path(self, realm, path):
        response = self.call("GET", "/realms/%s/group-by-path/%s" % (realm, path.strip("/")), expect=(200, 404))
        return response.json() if response.status_code == 200 else None

    def children(self, realm, group_id):
        result, first = [], 0
        while True:
            page = self.get("/realms/%s/groups/%s/children" % (realm, group_id), first=first, max=500,
                            briefRepresentation="false")
            result.extend(page)
            if len(page) < 500:
                return result
            first += 500

    def top_groups(self, realm):
        return self.get("/realms/%s/groups" % realm, first=0, max=10000)

    def rename_group(self, realm, group_id, name):
        group = self.group(realm, group_id)
        group["name"] = name
        self.call("PUT", "/realms/%s/groups/%s" % (realm, group_id), json=group)

    def delete_group(self, realm, group_id):
        self.call("DELETE", "/realms/%s/groups/%s" % (realm, group_id), expect=(204, 404))

    def members(self, realm, group_id):
        return self.get("/realms/%s/groups/%s/members" % (realm, group_id), first=0, max=10000)

    def member_names(self, realm, group_id):
        return sorted(u["username"] for u in self.members(realm, group_id))

    # users
    def create_user(self, realm, username, email=None, first_name=None, last_name=None):
        body = {"username": username, "enabled": True}
        if email:
            body["email"] = email
        if first_name:
            body["firstName"] = first_name
        if last_name:
            body["lastName"] = last_name
        response = self.call("POST", "/realms/%s/users" % realm, json=body, expect=(201,))
        return response.headers["Location"].rsplit("/", 1)[-1]

    def update_user(self, realm, user_id, **fields):
        self.call("PUT", "/realms/%s/users/%s" % (realm, user_id), json=fields)

    def join(self, realm, user_id, group_id):
        self.call("PUT", "/realms/%s/users/%s/groups/%s" % (realm, user_id, group_id))

    def leave(self, realm, user_id, group_id):
        self.call("DELETE", "/realms/%s/users/%s/groups/%s" % (realm, user_id, group_id))
