#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A tiny HTTP file server for tests/test-fetch-weights.sh.

Serves the files of one folder on 127.0.0.1 (a free port, written to --port-file once listening).
A single-range request (Range: bytes=N- or bytes=N-M) gets 206 Partial Content, or 416 when N
is past the end, unless --no-ranges makes the server ignore Range and always answer 200 with the
whole file, like servers that cannot resume. Each request is logged to stderr as
"GET /path range=<Range header or -> status=<code>" so tests can see what happened.
"""
import argparse
import http.server
import os
import re
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.respond(send_body=True)

    def do_HEAD(self):
        self.respond(send_body=False)

    def respond(self, send_body):
        name = os.path.basename(self.path.split("?")[0])
        path = os.path.join(self.server.root, name)
        range_header = self.headers.get("Range")
        if not name or not os.path.isfile(path):
            self.finish_status(404, range_header)
            return
        with open(path, "rb") as f:
            data = f.read()
        size = len(data)
        begin, end, status = 0, size, 200
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header or "")
        if match and not self.server.no_ranges:
            begin = int(match.group(1))
            end = min(size, int(match.group(2)) + 1) if match.group(2) else size
            if begin >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.log(416, range_header)
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - begin))
        if status == 206:
            self.send_header("Content-Range", f"bytes {begin}-{end - 1}/{size}")
        elif not self.server.no_ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if send_body:
            self.wfile.write(data[begin:end])
        self.log(status, range_header)

    def finish_status(self, status, range_header):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.log(status, range_header)

    def log(self, status, range_header):
        print(f"{self.command} {self.path} range={range_header or '-'} status={status}",
              file=sys.stderr, flush=True)

    def log_message(self, format, *args):
        pass  # replaced by log()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="folder whose files are served")
    parser.add_argument("--port-file", required=True, help="where to write the port")
    parser.add_argument("--no-ranges", action="store_true", help="ignore Range requests")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.root = args.dir
    server.no_ranges = args.no_ranges
    # Written then renamed, so a reader never sees a half-written port.
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
