#!/usr/bin/env python3
"""Lambda init time of every function, beside a hello-world lambda_http binary.

Each bootstrap is spawned against a local stand-in for the Lambda Runtime API; its init time is
spawn → its first `GET /2018-06-01/runtime/invocation/next` (an init error is reported as
such). Runs interleaved, median of N per binary, and the ratio to hello-world in the same run.

usage: benches/cold_start.py [RUNS]   (default 15)
       benches/cold_start.py trace BOOTSTRAP   (the files one bootstrap opens or stats during its
       init, under strace: what init reads from disk)
Needs the functions built (`CARGO_LAMBDA_COMPILER=cargo sam build ...`, as .ci/test does:
.aws-sam/build/<Function>/bootstrap); builds benches/hello-lambda itself.
"""
import http.server
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRACE = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "trace" else None
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 and not TRACE else 15

arrived = threading.Event()
failed = []


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            arrived.set()
            # Hold the poll: the process is killed once its init is timed.
            time.sleep(5)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if "/init/error" in self.path:
            failed.append(body.decode("utf-8", "replace"))
            arrived.set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
api = f"127.0.0.1:{server.server_address[1]}"

# What the template gives the functions, pointed at nothing (init makes no calls).
ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "AWS_LAMBDA_RUNTIME_API": api,
    "AWS_LAMBDA_FUNCTION_NAME": "cold-start",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "TABLE_NAME": "bedrud",
    "QUEUE_URL": "http://127.0.0.1:9/000000000000/recordings.fifo",
    "MAIL_QUEUE_URL": "http://127.0.0.1:9/000000000000/mail.fifo",
    "BUCKET_NAME": "recordings",
    "JWT_SECRET": "cold-start-jwt-secret-0123456789abcdef",
    "LIVEKIT_HOST": "wss://livekit.example.com",
    "LIVEKIT_API_KEY": "APIcoldstart",
    "LIVEKIT_API_SECRET": "cold-start-livekit-secret-0123456789ab",
    "LIVEKIT_EXTERNAL": "true",
    "EMAIL_PROVIDER": "ses",
    "EMAIL_FROM_ADDRESS": "meet@example.com",
    "RUST_LOG": "warn",
}


def hello():
    crate = ROOT / "benches" / "hello-lambda"
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--manifest-path", str(crate / "Cargo.toml"),
         "--target-dir", str(ROOT / "target" / "hello-lambda")],
        check=True,
    )
    return ROOT / "target" / "hello-lambda" / "release" / "hello-lambda"


def once(binary):
    arrived.clear()
    failed.clear()
    start = time.perf_counter()
    p = subprocess.Popen([str(binary)], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    ok = arrived.wait(10)
    took = time.perf_counter() - start
    p.kill()
    p.wait()
    if not ok:
        raise SystemExit(f"{binary}: never polled the Runtime API")
    if failed:
        raise SystemExit(f"{binary}: init failed: {failed[0]}")
    return took * 1000


def trace(binary):
    """Runs `binary` under strace until its first poll; prints the paths its init touched."""
    arrived.clear()
    out = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "cold_start.strace"
    p = subprocess.Popen(["strace", "-f", "-e", "trace=openat,statx,newfstatat", "-o", str(out),
                          binary], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = arrived.wait(10)
    p.kill()
    p.wait()
    if not ok:
        raise SystemExit(f"{binary}: never polled the Runtime API")
    paths = [line.split('"')[1] for line in out.read_text().splitlines() if '"' in line]
    paths = [p for p in paths if p]  # fstat of an open descriptor names no path
    print(f"{binary}: {len(paths)} paths opened or stat'ed before the first poll")
    for prefix in sorted({"/".join(p.split("/")[:4]) for p in paths}):
        print(f"  {sum(p.startswith(prefix) for p in paths):>4}  {prefix}")


def main():
    if TRACE:
        return trace(TRACE)
    bins = {"hello-world": hello()}
    for f in sorted((ROOT / ".aws-sam" / "build").glob("*Function/bootstrap")):
        bins[f.parent.name] = f
    if len(bins) == 1:
        raise SystemExit("no .aws-sam/build/*/bootstrap: run the sam build first")
    times = {name: [] for name in bins}
    for _ in range(RUNS):
        for name, path in bins.items():
            times[name].append(once(path))
    base = statistics.median(times["hello-world"])
    print(f"{'binary':<28} {'median ms':>10} {'min':>7} {'max':>7} {'× hello':>8}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:<28} {m:>10.1f} {min(ts):>7.1f} {max(ts):>7.1f} {m / base:>8.2f}")


main()
