"""A local HTTP server answering the few Kubernetes API paths the plugins use, recording every request."""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLICES = "/apis/resource.k8s.io/v1/resourceslices"


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


class FakeAPIServer:
    """Nodes (read), ResourceClaims (read) and ResourceSlices (read, create, replace, delete)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.nodes: dict[str, dict[str, Any]] = {}
        self.claims: dict[tuple[str, str], dict[str, Any]] = {}
        self.slices: dict[str, dict[str, Any]] = {}
        self._version = 100
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def calls(self, method: str, prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def api_client(self) -> Any:
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def _reply(self, status: int, doc: dict[str, Any]) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _status(self, code: int, reason: str, message: str) -> None:
                self._reply(
                    code,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "reason": reason,
                        "message": message,
                        "code": code,
                    },
                )

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.requests.append(Recorded(method, path, copy.deepcopy(body)))
                    self._route(method, path, body)

            def _route(self, method: str, path: str, body: Any) -> None:
                parts = path.strip("/").split("/")
                if method == "GET" and parts[:3] == ["api", "v1", "nodes"] and len(parts) == 4:
                    node = server.nodes.get(parts[3])
                    return self._reply(200, node) if node else self._status(404, "NotFound", "node not found")
                if (
                    method == "GET"
                    and parts[:4] == ["apis", "resource.k8s.io", "v1", "namespaces"]
                    and len(parts) == 7
                    and parts[5] == "resourceclaims"
                ):
                    claim = server.claims.get((parts[4], parts[6]))
                    return (
                        self._reply(200, claim) if claim else self._status(404, "NotFound", "claim not found")
                    )
                if path == SLICES and method == "POST":
                    name = body["metadata"]["name"]
                    if name in server.slices:
                        return self._status(409, "AlreadyExists", "exists")
                    body["metadata"]["resourceVersion"] = server._next_version()
                    server.slices[name] = body
                    return self._reply(201, body)
                if path.startswith(SLICES + "/") and len(parts) == 5:
                    name = parts[4]
                    current = server.slices.get(name)
                    if current is None:
                        return self._status(404, "NotFound", "slice not found")
                    if method == "GET":
                        return self._reply(200, current)
                    if method == "PUT":
                        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                            return self._status(409, "Conflict", "resourceVersion mismatch")
                        body["metadata"]["resourceVersion"] = server._next_version()
                        server.slices[name] = body
                        return self._reply(200, body)
                    if method == "DELETE":
                        del server.slices[name]
                        return self._reply(200, {"kind": "Status", "status": "Success"})
                return self._status(404, "NotFound", f"no route for {method} {path}")

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        return Handler
