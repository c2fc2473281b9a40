"""A reverse proxy that fails a fraction of requests at random, for the false-page
benchmark (Python 3.11 standard library only).

Listens on 127.0.0.1 (a free port) and forwards every request to --upstream (the demo
company, also on loopback), except that each request is answered
503 {"error": "injected by the benchmark proxy"} with probability --fail-fraction,
drawn from a generator seeded with --seed. `GET /-/proxy-stats` (never failed, never
forwarded) answers {"requests": N, "injected": M}. Prints
"proxy listening on http://127.0.0.1:PORT" once ready and exits by itself after
--max-seconds.
"""

import argparse
import http.client
import json
import random
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Hop-by-hop headers are the proxy's own business on each side.
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "content-length", "host"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8080")
    p.add_argument("--fail-fraction", type=float, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-seconds", type=float, default=3600)
    a = p.parse_args()
    up = urllib.parse.urlsplit(a.upstream)
    if up.hostname not in ("127.0.0.1", "::1", "localhost"):
        p.error("--upstream must be on loopback")
    rng = random.Random(a.seed)
    lock = threading.Lock()
    stats = {"requests": 0, "injected": 0}
    local = threading.local()

    def upstream():
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        return local.conn

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body, headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_one(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path == "/-/proxy-stats":
                with lock:
                    text = json.dumps(stats).encode()
                return self.answer(200, text, [("content-type", "application/json")])
            with lock:
                stats["requests"] += 1
                fail = rng.random() < a.fail_fraction
                stats["injected"] += fail
            if fail:
                text = b'{"error":"injected by the benchmark proxy"}'
                return self.answer(503, text, [("content-type", "application/json")])
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            for attempt in range(2):
                conn = upstream()
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    r = conn.getresponse()
                    data = r.read()
                    break
                except (OSError, http.client.HTTPException):
                    # A kept-alive upstream connection may have been closed: retry once fresh.
                    conn.close()
                    local.conn = None
                    if attempt:
                        return self.answer(502, b'{"error":"upstream unreachable"}')
            out = [(k, v) for k, v in r.getheaders() if k.lower() not in HOP]
            self.answer(r.status, data, out)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_one

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(a.max_seconds, server.shutdown).start()
    print(f"proxy listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
