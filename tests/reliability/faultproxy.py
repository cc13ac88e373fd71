# -*- coding: utf-8 -*-
"""A fault-injecting HTTP/1.1 proxy on loopback, for the reliability tests.

It sits between the collection and Keycloak and, per request, at set rates
chosen by a seeded random generator:

- ``drop_request``: closes the connection before the request reaches Keycloak;
- ``drop_response``: forwards the request (Keycloak does the work) and closes the
  connection instead of answering: the answer is lost;
- ``unavailable``: answers ``503 Service Unavailable`` without forwarding;
- ``delay``: forwards, then waits ``delay_range`` seconds before answering;
- ``stall``: forwards, then waits ``stall_seconds`` (longer than the client's
  timeout) before answering: the client gives up, Keycloak did the work.

With ``max_consecutive=n`` one request (method, target, body) never meets more than
n failing faults in a row, so a client that retries n times must get through.

Plain threads and sockets, no dependencies. Every request goes upstream on a
fresh connection (``Connection: close``); the client side keeps its keep-alive
connection whenever the answer has a length. ``on_response(method, target,
status, body)`` sees every forwarded answer (the secrets test records the
tokens Keycloak hands out through it: ``TokenRecorder``). The proxy stops after ``max_seconds``
whatever happens, so a hung test cannot leave it running.
"""

import collections
import json
import random
import socket
import threading
import time
from urllib.parse import urlsplit

FAULTS = ("drop_request", "drop_response", "unavailable", "delay", "stall")


class FaultProxy(object):
    def __init__(self, upstream_url, seed=0, drop_request=0.0, drop_response=0.0, unavailable=0.0, delay=0.0,
                 stall=0.0, delay_range=(0.05, 0.4), stall_seconds=3.0, always_delay=0.0, max_seconds=900,
                 on_response=None, spare=None, max_consecutive=None, port=0):
        parts = urlsplit(upstream_url)
        # 0: a free port; a fixed one lets a test stop the proxy and start it again where clients look for it.
        self.listen_port = port
        self.upstream = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        self.rates = [("drop_request", drop_request), ("drop_response", drop_response),
                      ("unavailable", unavailable), ("delay", delay), ("stall", stall)]
        self.delay_range = delay_range
        self.stall_seconds = stall_seconds
        self.always_delay = always_delay
        self.max_seconds = max_seconds
        self.on_response = on_response
        # spare(method, target) -> True: never inject a fault into this request.
        self.spare = spare
        # At most this many faults in a row for one (method, target): a client that retries that many
        # times must then get through. None: no limit.
        self.max_consecutive = max_consecutive
        self._streaks = collections.Counter()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults = collections.Counter()
        self.requests = 0
        self.by_path = collections.Counter()
        self.fault_log = []  # (fault, method, path) of every fault injected
        self._stop = threading.Event()
        self._sockets = set()
        self._threads = []
        self._listener = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.listen_port))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self._deadline = time.monotonic() + self.max_seconds
        thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    @property
    def port(self):
        return self._listener.getsockname()[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self._stop.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self.lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def injected(self):
        return sum(self.faults[k] for k in FAULTS)

    def lost_answers(self, method, path_end):
        """How many requests Keycloak carried out whose answer the client never saw."""
        return sum(1 for fault, m, path in self.fault_log
                   if fault in ("drop_response", "stall") and m == method and path.endswith(path_end))

    def summary(self):
        return {"requests": self.requests, "faults": dict((k, self.faults[k]) for k in FAULTS),
                "faults_total": self.injected}

    # -------------------------------------------------------------- serving

    def _accept_loop(self):
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                client, _address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self._sockets.add(client)
            thread = threading.Thread(target=self._serve, args=(client,), name="fault-proxy-conn", daemon=True)
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        self._stop.set()

    def _decide(self, method, target, body=b""):
        with self.lock:
            self.requests += 1
            self.by_path[(method, target.split("?", 1)[0])] += 1
            draw = self.rng.random()
            pause = self.rng.uniform(*self.delay_range)
            if self.spare is not None and self.spare(method, target):
                return None, 0.0
            key = (method, target, body)
            total = 0.0
            for name, rate in self.rates:
                total += rate
                if draw < total:
                    if name != "delay":
                        if self.max_consecutive is not None and self._streaks[key] >= self.max_consecutive:
                            break
                        self._streaks[key] += 1
                    self.faults[name] += 1
                    self.fault_log.append((name, method, target.split("?", 1)[0]))
                    return name, pause
            self._streaks.pop(key, None)
        return None, 0.0

    def _serve(self, client):
        client.settimeout(60)
        reader = client.makefile("rb")
        try:
            while not self._stop.is_set():
                request_line = reader.readline(65537)
                if not request_line:
                    return
                if request_line in (b"\r\n", b"\n"):
                    continue
                headers = []
                while True:
                    line = reader.readline(65537)
                    if not line or line in (b"\r\n", b"\n"):
                        break
                    headers.append(line)
                length = 0
                for line in headers:
                    name, _sep, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip() or 0)
                body = reader.read(length) if length else b""
                method, target = _method_target(request_line)
                fault, pause = self._decide(method, target, body)
                if fault == "drop_request":
                    return
                if fault == "unavailable":
                    text = b'{"error":"injected 503"}'
                    client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(text), text))
                    continue
                raw = self._forward(request_line, headers, body)
                if raw is None:
                    return
                if self.on_response is not None:
                    status, response_body = _status_body(raw)
                    self.on_response(method, target, status, response_body)
                if fault == "drop_response":
                    return
                if fault == "delay":
                    time.sleep(pause)
                elif fault == "stall":
                    time.sleep(self.stall_seconds)
                if self.always_delay:
                    time.sleep(self.always_delay)
                response, keep_alive = _client_response(raw)
                client.sendall(response)
                if not keep_alive:
                    return
        except (OSError, ValueError):
            return
        finally:
            _close(client)
            with self.lock:
                self._sockets.discard(client)

    def _forward(self, request_line, headers, body):
        upstream = socket.create_connection(self.upstream, timeout=60)
        with self.lock:
            self._sockets.add(upstream)
        try:
            kept = [h for h in headers if h.partition(b":")[0].strip().lower() not in (b"connection", b"keep-alive")]
            upstream.sendall(request_line + b"".join(kept) + b"Connection: close\r\n\r\n" + body)
            chunks = []
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError:
            return None
        finally:
            _close(upstream)
            with self.lock:
                self._sockets.discard(upstream)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _method_target(request_line):
    parts = request_line.decode("latin-1").split()
    return (parts[0], parts[1]) if len(parts) >= 2 else ("?", "?")


def _split(raw):
    head, _sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    return lines[0], lines[1:], body


def _status_body(raw):
    status_line, headers, body = _split(raw)
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError):
        status = 0
    if any(h.lower().startswith(b"transfer-encoding:") and b"chunked" in h.lower() for h in headers):
        body = _dechunk(body)
    return status, body


def _dechunk(body):
    out, rest = [], body
    while rest:
        size_line, _sep, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)


def _client_response(raw):
    """The upstream answer for a keep-alive client: without its Connection header when it has a length."""
    status_line, headers, body = _split(raw)
    names = [h.partition(b":")[0].strip().lower() for h in headers]
    framed = b"content-length" in names or b"transfer-encoding" in names
    if not framed:
        return raw, False
    kept = [h for h, n in zip(headers, names) if n not in (b"connection", b"keep-alive")]
    return status_line + b"\r\n" + b"".join(h + b"\r\n" for h in kept) + b"\r\n" + body, True


class TokenRecorder(object):
    """An ``on_response`` that keeps every token Keycloak hands out (to search outputs for them)."""

    def __init__(self):
        self.issued = set()
        self._lock = threading.Lock()

    def __call__(self, method, target, status, body):
        if target.split("?")[0].endswith("/protocol/openid-connect/token") and status == 200:
            payload = json.loads(body.decode("utf-8"))
            with self._lock:
                self.issued.update(payload[k] for k in ("access_token", "refresh_token", "id_token") if payload.get(k))
