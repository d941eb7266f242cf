#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1 the way `trunk serve` does for Acorn: correct MIME types
(application/wasm) and the cross-origin isolation headers from Trunk.toml, no caching.

    python3 tests/e2e/serve.py --port 8090 --dir dist [--data ../shared/data/druid]

With `--data DIR`, files of DIR are also served under `/data/` (same origin, so the page's
cross-origin isolation headers do not get in the way of fetching them), and under `/slow/`
trickled at SLOW_BYTES_PER_S: a long-running ingest for cancel tests without a large file.
"""
import argparse
import functools
import http.server
import os
import shutil
import time

SLOW_BYTES_PER_S = 64 * 1024
SLOW_CHUNK = 8 * 1024


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def end_headers(self):
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
