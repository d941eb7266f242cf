#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1 the way `trunk serve` does for Acorn: correct MIME types
(application/wasm) and the cross-origin isolation headers from Trunk.toml, no caching.

    python3 tests/e2e/serve.py --port 8090 --dir dist [--data ../shared/data/druid]

With `--data DIR`, files of DIR are also served under `/data/` (same origin, so the page's
cross-origin isolation headers do not get in the way of fetching them).
"""
import argparse
import functools
import http.server
import os


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

    def translate_path(self, path):
        data = getattr(self.server, "data_dir", None)
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if data and clean.startswith("/data/"):
            rel = os.path.normpath(clean[len("/data/"):]).lstrip("/")
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
