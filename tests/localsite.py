"""What the browser checks and bench/lite.py share: the built site served on 127.0.0.1, the
headless Chromium's flags, and working ex1 functions typed as one line.

No pytest here, so that the benchmark can import it too (bench/lite.py puts tests/ on its
path).
"""

import functools
import http.server
import os
import threading
from contextlib import contextmanager

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
# The resolver maps every host but 127.0.0.1 to nothing: a second fence behind the routes
# that abort (and record) every request off this machine.
OFFLINE_FLAGS = FLAGS + ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]

# Working ex1 functions, typed as a learner would (one line: the editor then adds nothing).
EX1_WORKING = ("swp_entry = lambda t, o: (t << SWP_TYPE_SHIFT) | (o & SWP_OFFSET_MASK); "
               "swp_type = lambda e: e >> SWP_TYPE_SHIFT; swp_offset = lambda e: e & SWP_OFFSET_MASK; "
               "is_migration_entry = lambda e, types=MIGRATION_2_6_18: "
               "swp_type(e) in (types.migration_read, types.migration_write); "
               "is_write_migration_entry = lambda e, types=MIGRATION_2_6_18: "
               "types.migration_write is not None and swp_type(e) == types.migration_write; "
               "make_migration_entry_read = lambda e, types=MIGRATION_2_6_18: "
               "swp_entry(types.migration_read, swp_offset(e)); ")


class Handler(http.server.SimpleHTTPRequestHandler):
    """Quiet, with the types Pyodide needs (.wasm as application/wasm, .mjs as JavaScript)
    and an optional Cache-Control header (the benchmark's --cache-control)."""
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}
    cache_control = ""

    def end_headers(self):
        if self.cache_control:
            self.send_header("Cache-Control", self.cache_control)
        super().end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def serve(directory):
    """Serve directory on 127.0.0.1 at a free port; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
