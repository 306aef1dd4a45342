#!/usr/bin/env python3
"""Bytes tracetty writes to the terminal: `tracetty live` in a 120x36 pty,
seed-shaped traces arriving over OTLP/HTTP at a fixed rate; counts what
the pty master reads after a warm-up. Usage:
    Benchmarks/terminal-bytes.py BINARY [--traces-per-second 10] [--seconds 10]"""
import argparse, fcntl, http.client, json, os, pty, random, select, signal, socket, struct, sys, termios, time

dump = None

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def seed_trace(now_ns, n):
    tid = "%032x" % random.getrandbits(128)
    ids = ["%016x" % random.getrandbits(64) for _ in range(3)]
    def span(i, parent, name, kind, start, dur):
        s = {"traceId": tid, "spanId": ids[i], "name": name, "kind": kind,
             "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur),
             "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}]}
        if parent is not None: s["parentSpanId"] = ids[parent]
        return s
    ms = 1_000_000
    def rs(service, spans):
        return {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"spans": spans}]}
    return {"resourceSpans": [
        rs("server-1", [span(0, None, "server-1", 2, now_ns, 750 * ms), span(1, 0, "server-1_to_server-2", 3, now_ns + 250 * ms, 500 * ms)]),
        rs("server-2", [span(2, 1, "server-2", 2, now_ns + 251 * ms, 498 * ms)])]}

def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary"); p.add_argument("--traces-per-second", type=float, default=10)
    p.add_argument("--seconds", type=float, default=10); p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--dump", default="", help="also write the bytes read to this file")
    p.add_argument("--keys", default="", help="keys typed after the warm-up (e.g. d: hide the plot)")
    a = p.parse_args()
    global dump
    dump = open(a.dump, "wb") if a.dump else None
    port = free_port()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"; os.environ["LANG"] = "C.UTF-8"
        os.execv(a.binary, [a.binary, "live", "--otlp-http-port", str(port), "--off", "jaeger-compact", "--off", "jaeger-binary",
                            "--off", "zipkin-compact", "--off", "jaeger-collector", "--off", "zipkin-http", "--off", "otlp-grpc"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    def drain(until):
        total = 0
        while True:
            left = until - time.monotonic()
            if left <= 0: return total
            r, _, _ = select.select([fd], [], [], min(left, 0.01))
            if r:
                try: data = os.read(fd, 65536)
                except OSError: return total
                total += len(data)
                if dump: dump.write(data)
    drain(time.monotonic() + a.warmup)
    if a.keys:
        os.write(fd, a.keys.encode()); drain(time.monotonic() + 0.5)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    start = time.monotonic(); sent = 0; total = 0
    interval = 1 / a.traces_per_second
    while time.monotonic() - start < a.seconds:
        body = json.dumps(seed_trace(time.time_ns(), sent)).encode()
        conn.request("POST", "/v1/traces", body, {"Content-Type": "application/json"}); conn.getresponse().read()
        sent += 1
        total += drain(start + sent * interval)
    elapsed = time.monotonic() - start
    os.write(fd, b"q"); time.sleep(0.5)
    try: os.kill(pid, signal.SIGTERM)
    except ProcessLookupError: pass
    print(f"{sent} traces in {elapsed:.1f} s: {total} bytes to the terminal, {total / elapsed / 1024:.2f} KiB/s")

main()
