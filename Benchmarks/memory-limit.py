#!/usr/bin/env python3
"""Does `--max-memory` hold? `tracetty live --max-memory LIMIT` in a 120x36 pty;
MB megabytes of spans, each with one ATTR-byte attribute, posted over OTLP/HTTP
as fast as the receiver takes them (one trace per post, --spans-per-post spans
each); the process's resident size is read from /proc every 50 ms the whole
time. Prints the peak against the limit, the newest trace id sent and whether
the screen shows it (the list follows the newest in `live`). Usage:
    Benchmarks/memory-limit.py BINARY [--limit 128MiB] [--megabytes 300] [--attribute-bytes 100000]"""
import argparse, fcntl, http.client, json, os, pty, random, re, select, signal, socket, struct, sys, termios, threading, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"): return int(line.split()[1])
    except OSError: return None

def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"): return int(line.split()[1])

def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary"); p.add_argument("--limit", default="128MiB")
    p.add_argument("--megabytes", type=float, default=300); p.add_argument("--attribute-bytes", type=int, default=100_000)
    p.add_argument("--spans-per-post", type=int, default=3); p.add_argument("--connections", type=int, default=2)
    a = p.parse_args()
    port = free_port()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"; os.environ["LANG"] = "C.UTF-8"
        os.execv(a.binary, [a.binary, "live", "--max-memory", a.limit, "--otlp-http-port", str(port), "--off", "jaeger-compact",
                            "--off", "jaeger-binary", "--off", "zipkin-compact", "--off", "jaeger-collector", "--off", "zipkin-http",
                            "--off", "otlp-grpc"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    screen = bytearray()
    stop = threading.Event()
    samples = []
    def reader():
        while not stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try: screen.extend(os.read(fd, 65536))
                except OSError: return
            if len(screen) > 4 << 20: del screen[: len(screen) - (1 << 20)]
    def sampler():
        while not stop.is_set():
            kib = rss_kib(pid)
            if kib is not None: samples.append((time.monotonic(), kib))
            time.sleep(0.05)
    threads = [threading.Thread(target=reader, daemon=True), threading.Thread(target=sampler, daemon=True)]
    for t in threads: t.start()
    time.sleep(2)
    baseline = rss_kib(pid)
    value = "x" * a.attribute_bytes
    total = int(a.megabytes * 1e6)
    sent_bytes = [0]; posts = [0]; newest = [None]; lock = threading.Lock(); statuses = {}; numbers = iter(range(1 << 62))
    def post_loop():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if sent_bytes[0] >= total: return
            tid = "%032x" % random.getrandbits(128); now = time.time_ns()
            with lock: number = next(numbers)
            spans = []
            for i in range(a.spans_per_post):
                s = {"traceId": tid, "spanId": "%016x" % (i + 1), "name": f"post-{number}" if i == 0 else f"child-{i}", "kind": 2,
                     "startTimeUnixNano": str(now + i), "endTimeUnixNano": str(now + 1_000_000),
                     "attributes": [{"key": "payload", "value": {"stringValue": value}}]}
                if i: s["parentSpanId"] = "%016x" % 1
                spans.append(s)
            body = json.dumps({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "big"}}]},
                                                  "scopeSpans": [{"spans": spans}]}]}).encode()
            try:
                conn.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
                response = conn.getresponse(); response.read()
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60); continue
            with lock:
                sent_bytes[0] += len(body); posts[0] += 1
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if newest[0] is None or number > newest[0]: newest[0] = number
    start = time.monotonic()
    senders = [threading.Thread(target=post_loop) for _ in range(a.connections)]
    for t in senders: t.start()
    for t in senders: t.join()
    elapsed = time.monotonic() - start
    time.sleep(3)  # the UI's next turns take the last posts in
    screen.clear(); os.write(fd, b"\x0c"); time.sleep(1.5)  # Ctrl-L: a whole screen to read
    text = screen.decode("utf-8", "replace")
    shown = newest[0] is not None and re.search(r"post-%d\b" % newest[0], text) is not None
    hwm = hwm_kib(pid); settled = rss_kib(pid)
    stop.set()
    os.write(fd, b"q"); time.sleep(0.5)
    try: os.kill(pid, signal.SIGTERM)
    except ProcessLookupError: pass
    peak = max(k for _, k in samples)
    after = sorted(k for t, k in samples if t > start)
    median = after[len(after) // 2] if after else 0
    limit_kib = None
    m = re.fullmatch(r"(\d+)\s*(mib|m)", a.limit.strip().lower())
    if m: limit_kib = int(m.group(1)) * 1024
    print(f"sent {sent_bytes[0] / 1e6:.0f} MB in {posts[0]} posts ({a.spans_per_post} spans of {a.attribute_bytes} B each) in {elapsed:.1f} s; "
          f"replies {dict(sorted(statuses.items()))}")
    print(f"RSS: baseline {baseline / 1024:.0f} MiB, peak sampled {peak / 1024:.0f} MiB, VmHWM {hwm / 1024:.0f} MiB, "
          f"median while sending {median / 1024:.0f} MiB, after {settled / 1024:.0f} MiB" + (f"; limit {a.limit} = peak/limit {hwm / limit_kib:.2f}" if limit_kib else ""))
    print(f"newest trace (root span post-{newest[0]}) on screen: {'yes' if shown else 'no'}")
    status = re.findall(r"(evicted [^\x1b]*?traces[^\x1b]*|refused [^\x1b]*?spans \(memory\))", text)
    if status: print("status bar: " + "; ".join(dict.fromkeys(status)))

main()
