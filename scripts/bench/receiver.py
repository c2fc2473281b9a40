"""A local webhook receiver for the alert benchmark (Python 3.11 standard library only).

Listens on 127.0.0.1 (a free port), answers every POST with 200, and appends one JSON
line per notification to --out: {"received_at": Unix seconds, "delivery": the
X-Journeyd-Delivery header, "body": the parsed JSON}. Prints
"receiver listening on http://127.0.0.1:PORT" once ready and exits by itself after
--max-seconds.
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--max-seconds", type=float, default=3600)
    a = p.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            received = time.time()
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            line = {"received_at": received,
                    "delivery": self.headers.get("x-journeyd-delivery"), "body": body}
            with lock, open(a.out, "a") as f:
                f.write(json.dumps(line) + "\n")
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(a.max_seconds, server.shutdown).start()
    print(f"receiver listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
