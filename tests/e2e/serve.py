#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1 the way `trunk serve` does for Acorn: correct MIME types
(application/wasm) and the cross-origin isolation headers from Trunk.toml, no caching.

    python3 tests/e2e/serve.py --port 8090 --dir dist [--data ../shared/data/druid]

With `--data DIR`, files of DIR are also served under `/data/` (same origin, so the page's
cross-origin isolation headers do not get in the way of fetching them), and under `/slow/`
trickled at SLOW_BYTES_PER_S: a long-running ingest for cancel tests without a large file.
Files under `/data/` are served with `Accept-Ranges: bytes` and answer single-range
`Range: bytes=a-b` requests with 206, as a static file server does (Acorn splits one large
uncompressed file across workers by byte ranges).
"""
import argparse
import functools
import http.server
import os
import re
import shutil
import time

SLOW_BYTES_PER_S = 64 * 1024
SLOW_CHUNK = 8 * 1024


class Limited:
    """The first `left` bytes of a file, for a 206 body."""

    def __init__(self, source, left):
        self.source, self.left = source, left

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        chunk = self.source.read(n) if n > 0 else b""
        self.left -= len(chunk)
        return chunk

    def close(self):
        self.source.close()


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def end_headers(self):
        if getattr(self, "ranges_served", False):
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, fmt, *args):  # quiet: the e2e runner reports what matters
        pass

    def is_slow(self):
        return self.path.startswith("/slow/")

    def copyfile(self, source, outputfile):
        if not self.is_slow():
            shutil.copyfileobj(source, outputfile)
            return
        while chunk := source.read(SLOW_CHUNK):
            outputfile.write(chunk)
            outputfile.flush()
            time.sleep(SLOW_CHUNK / SLOW_BYTES_PER_S)

    def send_head(self):
        path = self.translate_path(self.path)
        self.ranges_served = self.path.startswith("/data/") and os.path.isfile(path)
        wanted = self.headers.get("Range")
        if not self.ranges_served or wanted is None:
            return super().send_head()
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
        size = os.path.getsize(path)
        if not match or int(match.group(1)) >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        source = open(path, "rb")
        source.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return Limited(source, end - start + 1)

    def translate_path(self, path):
        data = getattr(self.server, "data_dir", None)
        clean = path.split("?", 1)[0].split("#", 1)[0]
        prefix = next((p for p in ("/data/", "/slow/") if clean.startswith(p)), None)
        if data and prefix:
            rel = os.path.normpath(clean[len(prefix):]).lstrip("/")
            if rel.startswith(".."):
                return os.path.join(data, "__forbidden__")
            return os.path.join(data, rel)
        return super().translate_path(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--data", help="a directory also served under /data/")
    args = parser.parse_args()
    handler = functools.partial(Handler, directory=args.dir)
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        server.data_dir = os.path.abspath(args.data) if args.data else None
        server.serve_forever()


if __name__ == "__main__":
    main()
