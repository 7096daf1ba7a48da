#!/usr/bin/env python3
"""A local HTTP server for the download tests: serves the files under ROOT on 127.0.0.1, and
can misbehave on purpose. Prints the port it listens on (one line), then serves until killed.

    python3 http_server.py ROOT

GET /MODE/PATH serves ROOT/PATH, where MODE is
    whole        the file, with its Content-Length
    cut          the Content-Length of the whole file, then half of it, then the connection closes
    cut-nolength no Content-Length (HTTP/1.0, ends at close), half of the file, then it closes
    close        the connection closes before any response
Anything else is 404.
"""
import http.server
import os
import signal
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    root = "."

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = self.path.lstrip("/").split("/", 1)
        mode, rest = (parts + [""])[:2]
        path = os.path.normpath(os.path.join(self.root, rest))
        if mode not in ("whole", "cut", "cut-nolength", "close") or not path.startswith(self.root) or not os.path.isfile(path):
            self.send_error(404)
            return
        if mode == "close":
            self.close_connection = True
            return
        with open(path, "rb") as f:
            body = f.read()
        if mode == "cut-nolength":
            self.protocol_version = "HTTP/1.0"
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        if mode != "cut-nolength":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode == "whole" else body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


def main():
    # Close every descriptor inherited beyond stdin, stdout and stderr: the test process starts
    # other programs at the same time, and a pipe of theirs held open here would keep their
    # reader waiting for an end of file until this server stops.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    # The signal mask is inherited from the thread that started this process, which may block
    # SIGTERM: unblock everything, so that the test can stop the server.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    Handler.root = os.path.abspath(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
