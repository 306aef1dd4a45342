#!/usr/bin/env python3
"""Bytes tracetty writes to the terminal per keystroke: `tracetty open` of a
dump holding one 10,000-span trace, in a 120x36 pty; the trace is opened,
then each key is typed alone and the bytes that answer it are counted.
Also counts a full repaint (Ctrl-L). Usage:
    Benchmarks/terminal-keys.py BINARY [--spans 10000] [--presses 50]"""
import argparse, fcntl, json, os, pty, random, select, signal, statistics, struct, sys, tempfile, termios, time


def big_trace(n, path):
    """One OTLP JSON line: a root and n-1 spans in a tree (fan-out 4, three
    services), each child inside its parent's time."""
    rnd = random.Random(7)
    tid = "%032x" % rnd.getrandbits(128)
    starts, durations, parents = [1_795_821_746_000_000_000], [500_000_000], [None]
    for i in range(1, n):
        parent = (i - 1) // 4  # a 4-ary tree, about 7 deep
        d = durations[parent]
        starts.append(starts[parent] + rnd.randrange(0, max(1, d // 2)))
        durations.append(max(1_000, int(d * rnd.uniform(0.2, 0.5))))
        parents.append(parent)
    services = {"frontend": [], "cart": [], "db": []}
    for i in range(n):
        span = {"traceId": tid, "spanId": "%016x" % (i + 1), "name": "op-%d" % (i % 40), "kind": 2 if i == 0 else 1,
                "startTimeUnixNano": str(starts[i]), "endTimeUnixNano": str(starts[i] + durations[i]),
                "attributes": [{"key": "i", "value": {"intValue": str(i)}}]}
        if parents[i] is not None: span["parentSpanId"] = "%016x" % (parents[i] + 1)
        services[["frontend", "cart", "db"][i % 3]].append(span)
    doc = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": s}}]},
                              "scopeSpans": [{"spans": sp}]} for s, sp in services.items()]}
    with open(path, "w") as f:
        f.write(json.dumps(doc) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--spans", type=int, default=10_000)
    p.add_argument("--presses", type=int, default=50)
    p.add_argument("--settle", type=float, default=0.25, help="seconds to collect the answer to each key")
    a = p.parse_args()
    path = os.path.join(tempfile.mkdtemp(), "big-trace.ndjson")
    big_trace(a.spans, path)
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"; os.environ["LANG"] = "C.UTF-8"
        os.execv(a.binary, [a.binary, "open", path])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    os.kill(pid, signal.SIGWINCH)

    def drain(seconds):
        total, until = 0, time.monotonic() + seconds
        while True:
            left = until - time.monotonic()
            if left <= 0: return total
            r, _, _ = select.select([fd], [], [], min(left, 0.01))
            if r:
                try: total += len(os.read(fd, 65536))
                except OSError: return total

    drain(2.0)
    os.write(fd, b"\r"); drain(2.0)          # open the trace (its analysis lands meanwhile)

    def presses(key, count):
        sizes = []
        for _ in range(count):
            os.write(fd, key); sizes.append(drain(a.settle))
        return sizes

    rows = []
    for label, key in [("j (next span)", b"j"), ("k (previous span)", b"k"),
                       ("PageDown", b"\x1b[6~"), ("PageUp", b"\x1b[5~")]:
        sizes = presses(key, a.presses)
        rows.append((label, statistics.median(sizes), min(sizes), max(sizes), len(sizes)))
    repaint = presses(b"\x0c", 5)
    rows.append(("Ctrl-L (full repaint)", statistics.median(repaint), min(repaint), max(repaint), len(repaint)))
    os.write(fd, b"q"); time.sleep(0.5)
    try: os.kill(pid, signal.SIGTERM)
    except ProcessLookupError: pass
    print(f"tracetty open, one {a.spans}-span trace, 120x36, TERM=xterm-256color")
    print(f"{'key':<24}{'median bytes':>14}{'min':>8}{'max':>8}{'presses':>9}")
    for label, med, lo, hi, n in rows:
        print(f"{label:<24}{med:>14.0f}{lo:>8}{hi:>8}{n:>9}")


main()
