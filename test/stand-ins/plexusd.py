#!/usr/bin/env python3
# test/stand-ins/plexusd.py: a STAND-IN for the plexus daemon (and Multus's multus-daemon) on a
# unix socket, for testing plexus-shim without the real daemon: it records every request and
# answers /cni as Multus pkg/server/server.go does (200 {"Result": ...}, 400 CNI error object)
# and, while not ready, as plexusd does (503 with a CNI error object of code 11), or badly on
# purpose (another status, garbage, slow, every body framing).
"""Usage: plexusd.py --socket PATH --record FILE [options]

Prints "listening PATH" once it serves. Each request is appended to FILE as one JSON line:
{"method", "path", "headers", "body"}.

  --result FILE       /cni ADD answers 200 {"Result": <FILE's JSON>}; other verbs 200 empty
  --error JSON        /cni answers 400 with JSON (a CNI error object)
  --status N --body T /cni answers status N with body T (as it is)
  --delay S           wait S seconds before answering /cni
  --ready-after S     /readyz answers 500 for the first S seconds, then 200 (/cni 503 till then)
  --never-ready       /readyz always answers 500 (and /cni 503)
  --framing F         length (Content-Length, default), chunked, or close (close-delimited)
  --bad-chunk K       with chunked framing, breaks the first chunk: "crlf" (its data not ended by
                      CRLF) or "line" (a chunk-size line with 2000 bytes of extension)
  --body-size N       with --status: a body of N bytes ("x" repeated) instead of --body
  --truncate          announce the body's length, send half of it, close
"""

import argparse
import json
import os
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler

ARGS = None
START = time.monotonic()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def record(self, body):
        with open(ARGS.record, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": dict(self.headers.items()),
                                "body": body.decode("utf-8", "replace")}) + "\n")

    def answer(self, status, body):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        if ARGS.truncate and data:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.close_connection = True
            return
        if ARGS.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif ARGS.framing == "length":
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if ARGS.framing == "chunked":
            # odd-sized chunks, so a client that reads one chunk only is caught
            for i in range(0, len(data), 7):
                part = data[i:i + 7]
                ext = b";x=" + b"y" * 2000 if ARGS.bad_chunk == "line" and i == 0 else b""
                end = b"XX" if ARGS.bad_chunk == "crlf" and i == 0 else b"\r\n"
                self.wfile.write(b"%x%s\r\n%s%s" % (len(part), ext, part, end))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(data)
        self.close_connection = True

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        self.record(body)
        up = not ARGS.never_ready and time.monotonic() - START >= ARGS.ready_after
        if self.path == "/readyz":
            return self.answer(200 if up else 500, "")
        if self.path == "/healthz":
            return self.answer(200, "")
        if self.path != "/cni":
            return self.answer(404, "404 page not found\n")
        if not up:
            return self.answer(503, json.dumps({"code": 11, "msg": "plexusd is not ready"}))
        time.sleep(ARGS.delay)
        if ARGS.error is not None:
            return self.answer(400, ARGS.error)
        if ARGS.status is not None:
            return self.answer(ARGS.status, "x" * ARGS.body_size if ARGS.body_size else ARGS.body or "")
        try:
            cmd = json.loads(body)["env"].get("CNI_COMMAND")
        except (ValueError, KeyError, AttributeError):
            return self.answer(400, json.dumps({"code": 6, "msg": "bad request body"}))
        if cmd == "ADD":
            with open(ARGS.result) as f:
                return self.answer(200, json.dumps({"Result": json.load(f)}))
        return self.answer(200, "")

    do_GET = do_POST = handle_any


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--result")
    p.add_argument("--error")
    p.add_argument("--status", type=int)
    p.add_argument("--body")
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--ready-after", type=float, default=0)
    p.add_argument("--never-ready", action="store_true")
    p.add_argument("--framing", choices=["length", "chunked", "close"], default="length")
    p.add_argument("--body-size", type=int)
    p.add_argument("--bad-chunk", choices=["crlf", "line"])
    p.add_argument("--truncate", action="store_true")
    ARGS = p.parse_args()
    if os.path.exists(ARGS.socket):
        os.unlink(ARGS.socket)
    srv = Server(ARGS.socket, Handler)
    print("listening", ARGS.socket, flush=True)
    try:
        srv.serve_forever()
    finally:
        os.unlink(ARGS.socket)


if __name__ == "__main__":
    sys.exit(main())
