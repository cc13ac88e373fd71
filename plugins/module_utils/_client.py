# -*- coding: utf-8 -*-
# Copyright (c) 2026, waldur.keycloak contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A small Keycloak Admin REST client.

It knows groups, users and tokens, and nothing of offerings. One instance
logs in once and reuses its token and its keep-alive connections for every
call; modules, the inventory plugin, benchmarks and tests share it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.six.moves.urllib.parse import quote, quote_plus, unquote

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None


# Methods that may be sent again after a lost answer without changing the
# outcome. POST is not among them; callers that know better (a create that
# recovers from a 409 by looking the group up) opt in per call.
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))
RETRY_STATUSES = frozenset((502, 503, 504))
DEFAULT_PAGE_SIZE = 100
# A group's children are read 400 at a time: Keycloak's cost of a page of children grows with its offset, so
# fewer, larger pages are cheaper, up to a point (a page of thousands costs more than its parts). Measured on
# Keycloak 26.7 over 10,000 children, 4 pages at a time: 100 -> 8.8-9.2 s, 300-500 -> 5.1-5.4 s, 2,500 -> 13 s;
# over 1,000 alike (0.22-0.28 s).
CHILDREN_PAGE_SIZE = 400
# Reads sent at the same time by one client (pages of a listing, member listings, user lookups): Keycloak
# answers a deep page of children slower than a shallow one, so reading pages side by side beats paging.
DEFAULT_PARALLELISM = 4
ERROR_TEXT_LIMIT = 300


class KeycloakError(Exception):
    """Every failure of the client: a one-line message and the HTTP status, if any.

    The message never holds a password, a client secret or a token.
    """

    def __init__(self, message, status=None):
        message = " ".join(str(message).split())
        super(KeycloakError, self).__init__(message)
        self.message = message
        self.status = status

    @property
    def is_conflict(self):
        return self.status == 409

    @property
    def is_not_found(self):
        return self.status == 404

    @property
    def is_forbidden(self):
        return self.status == 403


class RealmNotFound(KeycloakError):
    """The realm itself does not exist: nothing can be said of the groups and users in it.

    It is a 404, but never "the group is missing": ``is_not_found`` is False, so every
    "None on 404" path (get_json_or_none, delete_group's missing_ok, ...) raises it.
    """

    def __init__(self, realm, base_url):
        super(RealmNotFound, self).__init__("realm '%s' does not exist on %s" % (realm, base_url), status=404)
        self.realm = realm

    @property
    def is_not_found(self):
        return False


class InvalidId(KeycloakError):
    """An id or realm name that is not one URL path segment; nothing was sent."""

    def __init__(self, value, what="id"):
        text = value if len(value) <= 80 else "%s... (%d characters)" % (value[:80], len(value))
        super(InvalidId, self).__init__("'%s' is not a valid Keycloak %s (it must be one URL path segment: "
                                        "not empty, '.' or '..', and without '/')" % (text, what))
        self.value = value
        self.what = what


# Keycloak's words (AdminRoot, 24 to 26) for a realm that does not exist, on every admin path below it.
REALM_NOT_FOUND = "Realm not found."
# ... and on the public realm paths (/realms/<realm>/...), lower-cased.
REALM_DOES_NOT_EXIST = "realm does not exist"
REALM_PREFIX = "/admin/realms/"


def _error_body(response):
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# What Keycloak 24 and 25 put in error_description beside every admin API error in "error"
# ({"error": "Could not find group by id", "error_description": "For more on this error consult
# the server log at the debug level."}); 26 sends "error" alone. It says nothing of the error.
GENERIC_ERROR_DESCRIPTION = "for more on this error consult the server log"


def _error_text(response):
    """Keycloak's own words for an error, from any of its body shapes."""
    body = _error_body(response)
    if body is not None:
        # 409 bodies come as {"errorMessage": ...} or {"error": "conflict", "error_description": ...};
        # OAuth errors as {"error": "invalid_grant", "error_description": "Invalid user credentials"}.
        for key in ("errorMessage", "error_description", "error"):
            text = str(body.get(key) or "").strip()
            if text and not (key == "error_description" and text.lower().startswith(GENERIC_ERROR_DESCRIPTION)):
                return text
    text = (response.text or "").strip()
    return text or response.reason or ""


def _short(exc):
    """The most specific line of a requests exception, without its wrapper noise."""
    text = str(exc)
    # urllib3 nests the real cause at the end: "... (Caused by NewConnectionError(...: [Errno 111] Connection refused'))"
    if "] " in text and "Errno" in text:
        text = text[text.rindex("] ") + 2:].rstrip("')\" ")
    # ... and an SSL error in the middle: "...SSLError(...'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ... (_ssl.c:1006)')))"
    reason = re.search(r"\[SSL[^\]]*\] ([^(]+?)\s*\(_ssl\.c", text)
    if reason:
        text = reason.group(1)
    return text[:ERROR_TEXT_LIMIT]


def _forbidden_hint(status, method):
    """What a 403 means: the account lacks a realm-management role (README: "Connection and credentials")."""
    if status != 403:
        return ""
    if method == "GET":
        return " (the account may not read this: reading groups and users needs the realm-management role view-users)"
    return (" (the account may not change this: changing groups and memberships needs the realm-management role "
            "manage-users)")


def path_segment(value):
    return quote(str(value), safe="")


def checked_segment(value, what="id"):
    """``value`` as one percent-encoded path segment; InvalidId for what a URL would read as a path.

    ``..`` and ``.`` are normalised away by the server (``/groups/..`` is the realm itself), an
    empty id addresses the collection and a ``/`` another resource: none of them is ever sent.
    """
    text = "" if value is None else str(value)
    if text in ("", ".", "..") or "/" in text:
        raise InvalidId(text, what)
    return path_segment(text)


def group_path_segments(path):
    """The names of ``/a/b/c``; InvalidId for a ``.`` or ``..``, which the server would normalise away."""
    segments = [s for s in str(path or "").split("/") if s]
    if "." in segments or ".." in segments:
        raise InvalidId(str(path), "group path")
    return segments


def _realm_of(path):
    """The realm a ``/admin/realms/<realm>[/...]`` path addresses, and whether the path is the realm itself."""
    if not path.startswith(REALM_PREFIX):
        return None, False
    rest = path[len(REALM_PREFIX):]
    segment, _slash, below = rest.partition("/")
    return unquote(segment), not below


class KeycloakClient(object):
    """Keycloak Admin REST API over one keep-alive session.

    Authentication is one of: a password grant (username/password, optionally
    with a client secret), a client-credentials grant (client secret alone), or
    a ready-made bearer token. Tokens are refreshed before they expire (admin
    tokens of the master realm live 60 seconds) and re-obtained once on a 401.
    """

    def __init__(self, url, auth_realm="master", client_id="admin-cli", client_secret=None,
                 username=None, password=None, token=None, validate_certs=True, ca_path=None,
                 timeout=10, retries=3, backoff=0.5, page_size=DEFAULT_PAGE_SIZE, pool_size=10,
                 session=None, parallelism=DEFAULT_PARALLELISM, children_page_size=CHILDREN_PAGE_SIZE):
        if not url:
            raise KeycloakError("auth_keycloak_url is required (or set KEYCLOAK_URL)")
        if not token and not username and not client_secret:
            raise KeycloakError("no credentials: give auth_username and auth_password, "
                                "auth_client_secret, or token")
        if username and not password:
            raise KeycloakError("auth_password is required with auth_username")
        self.base_url = url.rstrip("/")
        self.auth_realm = auth_realm or "master"
        self.client_id = client_id or "admin-cli"
        self._client_secret = client_secret
        self._username = username
        self._password = password
        self._static_token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.page_size = page_size
        self.children_page_size = children_page_size
        self.parallelism = max(1, int(parallelism or 1))
        self.request_count = 0
        self._token = token
        self._token_expires_at = None
        self._refresh_token = None
        self._refresh_expires_at = None
        self._token_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._realm_exists = {}
        if session is None:
            session = requests.Session()
            # A sync reads two listings side by side, each ``parallelism`` requests at a time: a smaller pool
            # would drop connections (and urllib3 warn on stderr) once parallelism passes half of it.
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 2 * self.parallelism))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        if validate_certs and ca_path and not os.path.exists(ca_path):
            raise KeycloakError("ca_path %s does not exist: give the CA bundle that signed the server certificate"
                                % ca_path)
        session.verify = (ca_path or True) if validate_certs else False
        session.headers["User-Agent"] = "waldur.keycloak"
        self.session = session

    # ---------------------------------------------------------------- errors

    def _fail(self, message, status=None):
        """A KeycloakError whose message holds none of this client's secrets.

        A server or proxy may echo the refused form back; whatever it says, the
        password, the client secret and the tokens never reach the user's output.
        """
        text = str(message)
        for secret in (self._password, self._client_secret, self._static_token, self._token, self._refresh_token):
            if secret and len(secret) >= 4:
                for form in set((secret, quote(secret, safe=""), quote_plus(secret))):
                    text = text.replace(form, "********")
        return KeycloakError(text, status=status)

    # ---------------------------------------------------------------- tokens

    @property
    def can_authenticate(self):
        return bool(self._username or self._client_secret)

    def _token_url(self):
        return "%s/realms/%s/protocol/openid-connect/token" % (self.base_url,
                                                               checked_segment(self.auth_realm, "realm name"))

    def _grant(self):
        data = {"client_id": self.client_id}
        if self._client_secret:
            data["client_secret"] = self._client_secret
        if self._refresh_token and self._refresh_expires_at and time.monotonic() < self._refresh_expires_at:
            data.update(grant_type="refresh_token", refresh_token=self._refresh_token)
        elif self._username:
            data.update(grant_type="password", username=self._username, password=self._password)
        else:
            data["grant_type"] = "client_credentials"
        return data

    def _obtain_token(self):
        data = self._grant()
        response = self._send("POST", self._token_url(), data=data, retry=True)
        if response.status_code >= 400 and data["grant_type"] == "refresh_token":
            # The refresh token was revoked or its session ended: log in afresh.
            self._refresh_token = None
            data = self._grant()
            response = self._send("POST", self._token_url(), data=data, retry=True)
        if response.status_code >= 400:
            raise self._login_failure(response)
        try:
            payload = response.json()
            token = payload["access_token"]
        except (ValueError, KeyError, TypeError):
            raise self._fail("authentication at %s returned no access token (is this a Keycloak server?)"
                             % self.base_url, status=response.status_code)
        now = time.monotonic()
        lifetime = float(payload.get("expires_in") or 60)
        # Refresh a little early: a token that expires in flight costs a 401 round trip.
        self._token_expires_at = now + lifetime - min(10.0, lifetime / 5.0)
        self._refresh_token = payload.get("refresh_token")
        refresh_lifetime = float(payload.get("refresh_expires_in") or 0)
        self._refresh_expires_at = now + refresh_lifetime - min(10.0, refresh_lifetime / 5.0) if refresh_lifetime else None
        self._token = token

    def _login_failure(self, response):
        """Why the token endpoint said no, in words that tell the user what to fix.

        Keycloak answers a refused login with an OAuth error body ({"error": ..., "error_description": ...});
        a missing auth realm with 404 {"error": "Realm does not exist"}. Anything else (a 404 page, a body
        that is not Keycloak's) means the URL may not be Keycloak's: one GET of the realm settles it.
        """
        who = ("user '%s'" % self._username) if self._username else ("client '%s'" % self.client_id)
        said = _error_text(response)[:ERROR_TEXT_LIMIT]
        status = response.status_code
        body = _error_body(response) or {}
        error = str(body.get("error") or "").strip().lower()
        if error != REALM_DOES_NOT_EXIST and not (status in (400, 401) and error):
            probe = self._realm_answer()
            if probe is None:
                # The reason, not the body: a web server's 404 page is HTML.
                return self._fail("nothing at %s looks like Keycloak (it answered %s %s to the login of %s in realm "
                                  "'%s'): check auth_keycloak_url (old servers need the /auth prefix)"
                                  % (self.base_url, status, response.reason or "", who, self.auth_realm),
                                  status=status)
            error = str(probe.get("error") or "").strip().lower()
        if error == REALM_DOES_NOT_EXIST:
            return self._fail("Keycloak at %s cannot log in %s: realm '%s' does not exist (check auth_realm)"
                              % (self.base_url, who, self.auth_realm), status=status)
        if status in (400, 401):
            return self._fail("Keycloak at %s refused the login of %s in realm '%s': %s"
                              % (self.base_url, who, self.auth_realm, said), status=status)
        return self._fail("the login of %s in realm '%s' at %s failed: Keycloak answered %s %s"
                          % (who, self.auth_realm, self.base_url, status, said), status=status)

    def _realm_answer(self):
        """The JSON body ``GET /realms/<auth_realm>`` returns if it is Keycloak's, else None."""
        try:
            answer = self._send("GET", "%s/realms/%s" % (self.base_url, checked_segment(self.auth_realm, "realm name")),
                                retry=False)
        except KeycloakError:
            return None
        body = _error_body(answer) or {}
        if body.get("realm") or str(body.get("error") or "").strip().lower() == REALM_DOES_NOT_EXIST:
            return body
        return None

    def _current_token(self, stale=None):
        with self._token_lock:
            if not self.can_authenticate:
                return self._token
            if stale is not None and stale == self._token:
                self._token = None
            if self._token is None or time.monotonic() >= (self._token_expires_at or 0):
                self._obtain_token()
            return self._token

    def login(self):
        """Obtain a token now, so that bad credentials fail before any work is planned."""
        self._current_token()
        return self

    # ----------------------------------------------------------------- HTTP

    def _send(self, method, url, retry, **kwargs):
        attempt = 0
        while True:
            with self._count_lock:
                self.request_count += 1
            try:
                # verify is passed on every call: requests lets REQUESTS_CA_BUNDLE override a session's
                # own setting, which would silently drop ca_path and validate_certs=false.
                response = self.session.request(method, url, timeout=self.timeout, verify=self.session.verify,
                                                **kwargs)
            except requests.exceptions.SSLError as exc:
                raise self._fail("TLS error talking to %s: %s (set ca_path to the CA that signed the "
                                 "server certificate)" % (self.base_url, _short(exc)))
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if retry and attempt < self.retries:
                    attempt += 1
                    time.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                raise self._fail("cannot reach Keycloak at %s: %s" % (self.base_url, _short(exc)))
            if response.status_code in RETRY_STATUSES and retry and attempt < self.retries:
                attempt += 1
                time.sleep(self.backoff * (2 ** (attempt - 1)))
                continue
            return response

    def request(self, method, path, params=None, json=None, retry=None):
        """Send one admin API call; return the response or raise KeycloakError.

        ``path`` starts below the server root, e.g. ``/admin/realms/x/groups``.
        """
        if retry is None:
            retry = method in IDEMPOTENT_METHODS
        url = self.base_url + path
        token = self._current_token()
        reauthenticated = False
        while True:
            response = self._send(method, url, retry, params=params, json=json,
                                  headers={"Authorization": "Bearer %s" % token})
            if response.status_code == 401 and not reauthenticated and self.can_authenticate:
                reauthenticated = True
                token = self._current_token(stale=token)
                continue
            if response.status_code == 404:
                self._raise_if_realm_missing(path, response)
            if response.status_code >= 400:
                raise self._fail("Keycloak answered %s to %s %s: %s%s" % (
                    response.status_code, method, path, _error_text(response)[:ERROR_TEXT_LIMIT],
                    _forbidden_hint(response.status_code, method)), status=response.status_code)
            return response

    def _raise_if_realm_missing(self, path, response):
        """Raise RealmNotFound when a 404 below ``/admin/realms/<realm>`` means the realm is missing.

        Keycloak says so in the body; a body that says nothing of Keycloak's (a proxy's page, an
        empty answer) is settled by one GET of the realm, once per realm. A 403 there cannot
        tell: the realm is taken to exist, and the 404 stays the object's.
        """
        realm, is_realm = _realm_of(path)
        if realm is None:
            return
        body = _error_body(response)
        said = None if body is None else (body.get("error") or body.get("errorMessage"))
        if is_realm or (said or "").strip().lower() == REALM_NOT_FOUND.lower():
            self._realm_exists[realm] = False
        elif said is None and realm not in self._realm_exists:
            try:
                self.request("GET", self.realm_path(realm))
                self._realm_exists[realm] = True
            except RealmNotFound:
                pass
            except KeycloakError:
                self._realm_exists[realm] = True
        if self._realm_exists.get(realm) is False:
            raise RealmNotFound(realm, self.base_url)

    def get_json(self, path, params=None):
        response = self.request("GET", path, params=params)
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no type")
            raise self._fail("Keycloak answered GET %s with something that is not JSON (%s): is %s a Keycloak "
                             "server, or is a proxy in the way?" % (path, kind, self.base_url),
                             status=response.status_code)

    def get_json_or_none(self, path, params=None):
        try:
            return self.get_json(path, params)
        except KeycloakError as exc:
            if exc.is_not_found:
                return None
            raise

    def concurrently(self, call, items, parallelism=None):
        """``[call(item) for item in items]``, at most ``parallelism`` calls at a time (default: the client's).

        Results keep the order of ``items``; the first error raised by a call is raised here.
        """
        items = list(items)
        workers = min(parallelism or self.parallelism, len(items))
        if workers <= 1:
            return [call(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(call, items))

    def paged(self, path, params=None, page_size=None, expected=None):
        """Every item of a list endpoint, read with first/max until a short page.

        Server defaults differ per endpoint (/children: 10, /members: 100) and are
        never relied upon. With ``expected`` (the item count the server reported,
        e.g. a group's subGroupCount), the pages that count implies are read
        concurrently (``parallelism``); then pages are read one by one until a short
        one, so a listing that grew meanwhile is still read whole and the request
        count is the same as reading page by page.
        """
        size = page_size or self.page_size

        def page(first):
            query = dict(params or {})
            query.update(first=first, max=size)
            return self.get_json(path, query)

        items, first = [], 0
        known_pages = -(-int(expected) // size) if expected else 0
        if known_pages > 1 and self.parallelism > 1:
            for result in self.concurrently(page, [i * size for i in range(known_pages)]):
                items.extend(result)
                if len(result) < size:
                    return items
            first = known_pages * size
        while True:
            result = page(first)
            items.extend(result)
            if len(result) < size:
                return items
            first += size

    def realm_path(self, realm, *parts):
        """``/admin/realms/<realm>/<part>/...``, every piece one checked, percent-encoded segment."""
        return "/admin/realms/%s%s" % (checked_segment(realm, "realm name"),
                                       "".join("/" + checked_segment(p) for p in parts))

    def group_path(self, realm, group_id, *rest):
        checked_segment(group_id, "group id")  # first, so that the error says which kind of id
        return self.realm_path(realm, "groups", group_id, *rest)

    # ---------------------------------------------------------------- server

    def server_version(self):
        """Keycloak's version, or None when this account may not see server info."""
        try:
            info = self.get_json("/admin/serverinfo")
        except KeycloakError as exc:
            if exc.status in (401, 403, 404):
                return None
            raise
        return (info.get("systemInfo") or {}).get("version")

    def get_realm(self, realm):
        """The realm's representation, or None when there is no such realm."""
        try:
            return self.get_json(self.realm_path(realm))
        except RealmNotFound:
            return None

    # ---------------------------------------------------------- admin events

    def admin_events_settings(self, realm):
        """Whether the realm records admin events, and with details: ``(enabled, details)``.

        ``(None, None)`` when the account may not read the realm's settings (that needs view-realm): Keycloak
        then refuses, or answers a brief representation without them.
        """
        try:
            settings = self.get_json(self.realm_path(realm))
        except KeycloakError as exc:
            if exc.is_forbidden:
                return None, None
            raise
        if "adminEventsEnabled" not in settings:
            return None, None
        return bool(settings["adminEventsEnabled"]), bool(settings.get("adminEventsDetailsEnabled"))

    def admin_events(self, realm, first=0, max_results=DEFAULT_PAGE_SIZE, resource_types=(), date_from=None):
        """One page of the realm's admin events, newest first (Keycloak's order)."""
        params = {"first": first, "max": max_results}
        if resource_types:
            params["resourceTypes"] = list(resource_types)
        if date_from is not None:
            params["dateFrom"] = str(date_from)
        return self.get_json(self.realm_path(realm, "admin-events"), params)

    # ---------------------------------------------------------------- groups

    def list_groups(self, realm, search=None, exact=False, brief=True):
        """Top-level groups; with ``search``, Keycloak's match at any depth (re-check names)."""
        params = {"briefRepresentation": str(bool(brief)).lower()}
        if search:
            params.update(search=search, exact=str(bool(exact)).lower(), populateHierarchy="false")
        return self.paged(self.realm_path(realm, "groups"), params)

    def group_children(self, realm, group_id, brief=True, search=None, expected=None):
        """The children of a group; ``expected``: its subGroupCount, when known (pages are then read concurrently)."""
        params = {"briefRepresentation": str(bool(brief)).lower()}
        if search:
            params.update(search=search, exact="true")
        return self.paged(self.group_path(realm, group_id, "children"), params, expected=expected,
                          page_size=self.children_page_size)

    def get_group(self, realm, group_id):
        """The full group representation, or None when there is no such group (RealmNotFound: no such realm)."""
        return self.get_json_or_none(self.group_path(realm, group_id))

    def group_by_path(self, realm, path):
        """The group at ``/a/b/c``, or None."""
        segments = group_path_segments(path)
        if not segments:
            return None
        url = self.realm_path(realm) + "/group-by-path/" + "/".join(path_segment(s) for s in segments)
        return self.get_json_or_none(url)

    def find_child_group(self, realm, parent_id, name):
        """The group named exactly ``name`` under ``parent_id`` (None: the realm root)."""
        if parent_id:
            candidates = self.group_children(realm, parent_id, search=name)
        else:
            candidates = [g for g in self.list_groups(realm, search=name, exact=True)
                          if g.get("path") == "/" + name]
        # Keycloak's search is a substring match on some releases and ignored on
        # others: the name is always checked here.
        for group in candidates:
            if group.get("name") == name:
                return group
        return None

    def create_group(self, realm, name, parent_id=None, attributes=None, exist_ok=False):
        """Create a group at the root or under ``parent_id``; return ``(id, created)``.

        A sibling with the same name answers 409. With ``exist_ok`` that group is
        looked up and returned instead, which also makes a retried POST whose first
        answer was lost safe: it never leaves a duplicate behind.
        """
        body = {"name": name}
        if attributes:
            body["attributes"] = attributes
        path = self.group_path(realm, parent_id, "children") if parent_id else self.realm_path(realm, "groups")
        try:
            response = self.request("POST", path, json=body, retry=exist_ok)
        except KeycloakError as exc:
            if exc.is_conflict and exist_ok:
                existing = self.find_child_group(realm, parent_id, name)
                if existing:
                    return existing["id"], False
            raise
        location = response.headers.get("Location", "")
        group_id = location.rstrip("/").rsplit("/", 1)[-1] if location else None
        if not group_id:
            try:
                group_id = response.json().get("id")
            except (ValueError, AttributeError):
                group_id = None
        if not group_id:
            existing = self.find_child_group(realm, parent_id, name)
            if not existing:
                raise self._fail("Keycloak created group '%s' but did not say its id" % name)
            group_id = existing["id"]
        return group_id, True

    def update_group(self, realm, group_id, changes):
        """Change some fields of a group, sending back the whole representation.

        A PUT replaces every attribute and clears an absent description, so the
        current representation is read first and only ``changes`` differ. ``changes`` is a dict, or a
        function of the current representation that returns one (a change computed from what is there).
        """
        current = self.get_group(realm, group_id)
        if current is None:
            raise self._fail("group %s not found in realm '%s'" % (group_id, realm), status=404)
        representation = dict(current)
        representation.pop("subGroups", None)
        representation.update(changes(current) if callable(changes) else changes)
        self.request("PUT", self.group_path(realm, group_id), json=representation)
        return representation

    def delete_group(self, realm, group_id, missing_ok=True):
        """Delete a group; return False when it was already gone (and ``missing_ok``)."""
        try:
            self.request("DELETE", self.group_path(realm, group_id))
        except KeycloakError as exc:
            if exc.is_not_found and missing_ok:
                return False
            raise
        return True

    def group_members(self, realm, group_id, brief=True, missing_ok=False):
        """The members of a group; with ``missing_ok``, None when there is no such group."""
        try:
            return self.paged(self.group_path(realm, group_id, "members"),
                              {"briefRepresentation": str(bool(brief)).lower()})
        except KeycloakError as exc:
            if missing_ok and exc.is_not_found:
                return None
            raise

    def members_of_groups(self, realm, group_ids, missing_ok=False):
        """``{group id: members}`` for each of ``group_ids``: one listing per group (the Admin API has no
        call for the members of many groups), ``parallelism`` listings at a time; with ``missing_ok``, None
        for a group that does not exist."""
        group_ids = list(dict.fromkeys(group_ids))     # each group once, in the order given
        return dict(zip(group_ids, self.concurrently(lambda gid: self.group_members(realm, gid, missing_ok=missing_ok),
                                                     group_ids)))

    # ----------------------------------------------------------------- users

    def search_users(self, realm, query, limit=25):
        """Users whose username, email, first name, last name or full name contains ``query``.

        Keycloak reads a bare ``search`` as a prefix; ``*q*`` asks for "contains".
        A query that already holds ``*`` or is quoted ("exact") is passed as given.
        Keycloak splits a search on spaces and wants each word somewhere (``*Van Der Berg*`` finds
        no one: ``Der`` alone is a prefix): a query of several words asks for each word anywhere,
        then keeps the users with the words together in one field, page after page until ``limit``.
        """
        words = query.split()
        if "*" in query or query.startswith('"') or len(words) < 2:
            term = query if ("*" in query or query.startswith('"')) else "*%s*" % query
            params = {"search": term, "first": 0, "max": int(limit), "briefRepresentation": "true"}
            return self.get_json(self.realm_path(realm, "users"), params)
        wanted = " ".join(words).lower()

        def matches(user):
            first, last = user.get("firstName") or "", user.get("lastName") or ""
            fields = (user.get("username"), user.get("email"), first, last, "%s %s" % (first, last))
            return any(wanted in " ".join((field or "").split()).lower() for field in fields)

        found, first, size = [], 0, max(int(limit), self.page_size)
        params = {"search": " ".join("*%s*" % w for w in words), "max": size, "briefRepresentation": "true"}
        while True:
            page = self.get_json(self.realm_path(realm, "users"), dict(params, first=first))
            found.extend(user for user in page if matches(user))
            if len(found) >= limit or len(page) < size:
                return found[:int(limit)]
            first += size

    def user_by_username(self, realm, username):
        """The user with exactly this username (Keycloak keeps them lower-case), or None."""
        wanted = username.lower()
        users = self.get_json(self.realm_path(realm, "users"),
                              {"username": username, "exact": "true", "briefRepresentation": "true"})
        for user in users:
            if (user.get("username") or "").lower() == wanted:
                return user
        return None

    def users_count(self, realm):
        return int(self.get_json(self.realm_path(realm, "users", "count")))

    def users_lookup_cost(self, wanted, count):
        """The requests ``users_by_username`` makes for ``wanted`` distinct usernames in a realm of ``count``
        users (``count`` already read), not counting searches for names the listing lacks."""
        if wanted <= 2:
            return wanted
        return min(count // self.page_size + 1, wanted)

    def groups_of_user(self, realm, user_id):
        checked_segment(user_id, "user id")
        return self.paged(self.realm_path(realm, "users", user_id, "groups"), {"briefRepresentation": "true"})

    def groups_of_users(self, realm, user_ids):
        """``{user id: groups}`` for each of ``user_ids``: one listing per user, ``parallelism`` at a time.

        The other side of ``members_of_groups``: the cheaper one when the groups outnumber the users.
        """
        user_ids = list(dict.fromkeys(user_ids))
        return dict(zip(user_ids, self.concurrently(lambda uid: self.groups_of_user(realm, uid), user_ids)))

    def users_by_username(self, realm, usernames, count=None):
        """``{lower-case username: user}`` for those of ``usernames`` that exist, in as few requests as Keycloak allows.

        Keycloak has no call that looks up many usernames at once, so there are two ways: one exact
        search per distinct username (k requests), or the realm's whole user listing (``GET /users/count``,
        then its count // page + 1 pages). The listing costs at least two requests, so up to two usernames
        are searched without asking; otherwise the count decides, and the listing is read when its pages
        are fewer than the searches (e.g. 5,000 usernames in a realm of 5,000 users: 1 + 51 requests, not
        5,000). Either way the requests go out ``parallelism`` at a time. A username the listing did not
        return is still searched exactly: a user federation provider (LDAP) may answer a search for a user it
        has not imported, so both ways find the same users. Keycloak keeps usernames lower-case.
        ``count``: the realm's user count when the caller has read it already.
        """
        wanted = sorted(set(u.lower() for u in usernames if u))
        found = {}
        if len(wanted) > 2:
            count = self.users_count(realm) if count is None else count
            if self.users_lookup_cost(len(wanted), count) < len(wanted):
                wanted_set = set(wanted)
                listing = self.paged(self.realm_path(realm, "users"), {"briefRepresentation": "true"},
                                     expected=count)
                for user in listing:
                    lower = (user.get("username") or "").lower()
                    if lower in wanted_set:
                        found[lower] = user
                wanted = [u for u in wanted if u not in found]
        for lower, user in zip(wanted, self.concurrently(lambda name: self.user_by_username(realm, name), wanted)):
            if user is not None:
                found[lower] = user
        return found

    def membership_path(self, realm, user_id, group_id):
        checked_segment(user_id, "user id")
        checked_segment(group_id, "group id")
        return self.realm_path(realm, "users", user_id, "groups", group_id)

    def add_user_to_group(self, realm, user_id, group_id):
        self.request("PUT", self.membership_path(realm, user_id, group_id))

    def remove_user_from_group(self, realm, user_id, group_id):
        self.request("DELETE", self.membership_path(realm, user_id, group_id))
