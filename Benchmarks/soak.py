#!/usr/bin/env python3
"""A mixed load with faults against `tracetty live --record` in tmux, with the
process's resident size sampled once a second (issue 15's run):

  valid:   5,000 single-span Jaeger compact datagrams/s (`tracetty udp-send-bench`)
           20 OTLP/HTTP JSON posts/s of 3 spans each
  faults:  random datagrams (1-9,000 bytes; every 50th 65,507) on the three UDP
           ports, ~1,000/s; random bodies on the three HTTP receivers, 10/s;
           a gzip bomb (1 GiB of zeros, ~1 MB compressed) every 10 s; 100 idle
           connections and 10 slow-body connections (a byte every 3 s) held
           open; a half-closed request every 5 s

At the end: keys still answered (`?` opens the help), `q`, the exit status,
the spans recorded against the valid spans sent, the replies per kind, RSS
over time (peak; median of each fifth), and the books (issue 12): for each
listener, what was sent against what tracetty counted (received, of which
malformed, plus what the kernel dropped on a full socket buffer), and the
spans accepted against the spans recorded plus those tracetty dropped.
Issue 12's run: --seconds 600 --udp-shape big --udp-rate 500000 (half the
1M spans/s benchmark rate) --grpc-rate 20.
Usage:
    Benchmarks/soak.py BINARY [--seconds 300] [--max-memory 256MiB] [--max-spans 200000]
        [--udp-shape single|big] [--udp-rate 5000] [--grpc-rate 0]
        [--csv FILE] [--extra "..."] [--env KEY=VALUE]"""
import argparse, gzip, http.client, io, json, os, random, re, shlex, socket, subprocess, sys, tempfile, threading, time, zlib

def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"): return int(line.split()[1])
    except OSError: return None

def udp_rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])

def tmux(sock, *args, capture=False):
    r = subprocess.run(["tmux", "-L", sock] + list(args), capture_output=True, text=True)
    return r.stdout if capture else None

def otlp_body(n):
    tid = "%032x" % random.getrandbits(128); now = time.time_ns(); ms = 1_000_000
    def span(i, parent, name, start, dur):
        s = {"traceId": tid, "spanId": "%016x" % (n * 4 + i + 1), "name": name, "kind": 2,
             "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur),
             "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}]}
        if parent is not None: s["parentSpanId"] = "%016x" % (n * 4 + parent + 1)
        return s
    spans = [span(0, None, "soak-root", now, 50 * ms), span(1, 0, "soak-child", now + ms, 20 * ms), span(2, 0, "soak-child", now + 25 * ms, 20 * ms)]
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "soak"}}]},
                                          "scopeSpans": [{"spans": spans}]}]}).encode()

def make_bomb():
    c = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    zeros = bytes(1 << 20); out = io.BytesIO()
    for _ in range(1024): out.write(c.compress(zeros))
    out.write(c.flush()); return out.getvalue()

def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary"); p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--max-memory", default="256MiB"); p.add_argument("--max-spans", type=int, default=200000)
    p.add_argument("--csv", default=""); p.add_argument("--extra", default="")
    p.add_argument("--udp-shape", default="single", choices=["single", "big"])
    p.add_argument("--no-record", action="store_true",
                   help="no --record: at 500k spans/s the recording grows ~70 MB/s (44 GB in 10 minutes filled this disk)")
    p.add_argument("--udp-rate", type=int, default=5000, help="valid spans/s to jaeger-compact")
    p.add_argument("--grpc-rate", type=float, default=0, help="OTLP/gRPC Export calls/s of 3 spans (tracetty replay --to otlp-grpc://)")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE for tracetty's environment (e.g. MALLOC_ARENA_MAX=2)")
    a = p.parse_args()
    ports = {"jaeger-compact": free_port(socket.SOCK_DGRAM), "jaeger-binary": free_port(socket.SOCK_DGRAM),
             "zipkin-compact": free_port(socket.SOCK_DGRAM), "collector": free_port(), "otlp-http": free_port(), "zipkin": free_port(),
             "otlp-grpc": free_port()}
    tmp = tempfile.mkdtemp(); record = os.path.join(tmp, "soak.ndjson"); sock = f"tracetty-soak-{os.getpid()}"
    recording = "" if a.no_record else f"--record {record} "
    cmd = (f"{shlex.quote(a.binary)} live {recording}--max-spans {a.max_spans} --max-memory {a.max_memory} "
           f"--jaeger-compact-port {ports['jaeger-compact']} --jaeger-binary-port {ports['jaeger-binary']} "
           f"--zipkin-compact-port {ports['zipkin-compact']} --collector-port {ports['collector']} "
           f"--otlp-http-port {ports['otlp-http']} --zipkin-port {ports['zipkin']} --otlp-grpc-port {ports['otlp-grpc']} {a.extra}")
    tmux(sock, "new-session", "-d", "-s", "soak", "-x", "120", "-y", "36", "env", "TERM=xterm-256color", "LANG=C.UTF-8", *a.env,
         "sh", "-c", cmd + f" 2>{tmp}/stderr; echo EXIT=$? > {tmp}/exit; sleep 3600")
    time.sleep(2)
    shell = tmux(sock, "display-message", "-p", "-t", "soak", "#{pane_pid}", capture=True).strip()
    pid = int(open(f"/proc/{shell}/task/{shell}/children").read().split()[0])
    bomb = make_bomb()
    kernel_drops_before = udp_rcvbuf_errors()
    print(f"tracetty pid {pid}; bomb {len(bomb)} bytes; ports {ports}", flush=True)
    stop = threading.Event(); lock = threading.Lock(); stats = {}
    def count(key, n=1):
        with lock: stats[key] = stats.get(key, 0) + n
    samples = []
    def sampler():
        start = time.monotonic()
        while not stop.is_set():
            kib = rss_kib(pid)
            if kib is not None: samples.append((time.monotonic() - start, kib))
            time.sleep(1)
    def paced(rate, body):
        interval = 1 / rate; nxt = time.monotonic()
        while not stop.is_set():
            body(); nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0: time.sleep(delay)
            elif delay < -1: nxt = time.monotonic()
    def post(port, path, body, ctype, extra=None):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", path, body, {"Content-Type": ctype, **(extra or {})}); r = c.getresponse(); r.read(); c.close()
            count(f"answered on {port}")
            return r.status
        except OSError as e: return type(e).__name__
    posts = [0]
    def valid_otlp():
        n = posts[0]; posts[0] += 1
        status = post(ports["otlp-http"], "/v1/traces", otlp_body(n), "application/json")
        count(f"otlp valid -> {status}")
        if status == 200: count("valid spans sent", 3)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    garbage_n = [0]
    def garbage_datagram():
        garbage_n[0] += 1
        size = 65507 if garbage_n[0] % 50 == 0 else random.randint(1, 9000)
        port = random.choice([ports["jaeger-binary"], ports["zipkin-compact"]])
        try: udp.sendto(os.urandom(size), ("127.0.0.1", port)); count("garbage datagrams"); count(f"datagrams to {port}")
        except OSError: count("garbage datagram send errors")
    targets = [(ports["collector"], "/api/traces", "application/x-thrift"), (ports["otlp-http"], "/v1/traces", "application/x-protobuf"),
               (ports["zipkin"], "/api/v2/spans", "application/json")]
    def garbage_body():
        port, path, ctype = random.choice(targets)
        count(f"garbage body -> {post(port, path, os.urandom(random.randint(1, 20000)), ctype)}")
    def bomb_loop():
        while not stop.wait(10):
            count(f"gzip bomb -> {post(ports['otlp-http'], '/v1/traces', bomb, 'application/json', {'Content-Encoding': 'gzip'})}")
    held = []
    def hold_connections():
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", random.choice([t[0] for t in targets]))); held.append(s)
        slow = []
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", ports["otlp-http"]))
            s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
            slow.append(s)
        while not stop.wait(3):
            for s in list(slow):
                try: s.send(b"{")
                except OSError:
                    count("slow connections closed by server"); slow.remove(s)
                    s2 = socket.create_connection(("127.0.0.1", ports["otlp-http"]))
                    s2.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
                    slow.append(s2)
        for s in held + slow: s.close()
    def half_closed():
        while not stop.wait(5):
            try:
                body = otlp_body(10_000_000 + random.randint(0, 1 << 30))
                s = socket.create_connection(("127.0.0.1", ports["otlp-http"]), timeout=10)
                s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                s.shutdown(socket.SHUT_WR)
                reply = s.recv(100); s.close()
                status = reply.split(b" ")[1].decode() if reply.startswith(b"HTTP/1.1") else "none"
                count(f"half-closed -> {status}")
                if status != "none": count(f"answered on {ports['otlp-http']}")
                if status == "200": count("valid spans sent", 3)
            except OSError as e: count(f"half-closed -> {type(e).__name__}")
    # Garbage goes to the other two UDP ports, so jaeger-compact's books hold valid spans only.
    sender = subprocess.Popen([a.binary, "udp-send-bench", "--port", str(ports["jaeger-compact"]), "--shape", a.udp_shape,
                               "--rate", str(a.udp_rate), "--seconds", str(a.seconds)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    grpc = None
    if a.grpc_rate > 0:
        # A dump of 3-span traces, one trace every 1/rate s, replayed in a loop over one HTTP/2 connection.
        dump = os.path.join(tmp, "grpc.ndjson"); step = int(1e9 / a.grpc_rate); t0 = time.time_ns()
        with open(dump, "w") as f:
            for i in range(int(a.grpc_rate * 60)):
                body = json.loads(otlp_body(50_000_000 + i))
                for sp in body["resourceSpans"][0]["scopeSpans"][0]["spans"]:
                    for k in ("startTimeUnixNano", "endTimeUnixNano"): sp[k] = str(int(sp[k]) - time.time_ns() + t0 + i * step)
                f.write(json.dumps(body) + "\n")
        grpc = subprocess.Popen([a.binary, "replay", dump, "--to", f"otlp-grpc://127.0.0.1:{ports['otlp-grpc']}", "--loop"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threads = [threading.Thread(target=f, daemon=True) for f in
               (sampler, lambda: paced(20, valid_otlp), lambda: paced(1000, garbage_datagram), lambda: paced(10, garbage_body),
                bomb_loop, hold_connections, half_closed)]
    for t in threads: t.start()
    out = sender.communicate()[0]
    stop.set()
    grpc_out = ""
    if grpc:
        grpc.terminate(); grpc_out = grpc.communicate()[0]  # SIGTERM: a background job inherits SIGINT ignored
    m = re.search(r"(\d+) spans", out)
    udp_spans = int(m.group(1)) if m else 0
    print("udp sender: " + out.strip().splitlines()[-1] if out.strip() else "udp sender: no output", flush=True)
    time.sleep(3)
    screen = tmux(sock, "capture-pane", "-p", "-t", "soak", capture=True)
    status_line = [l for l in screen.splitlines() if "live" in l and "received" in l]
    tmux(sock, "send-keys", "-t", "soak", "?"); time.sleep(1.5)
    help_shown = "quit" in tmux(sock, "capture-pane", "-p", "-t", "soak", capture=True)
    tmux(sock, "send-keys", "-t", "soak", "Escape"); time.sleep(0.5)
    tmux(sock, "send-keys", "-t", "soak", "q")
    for _ in range(600):  # the recorder writes what it still holds
        if os.path.exists(f"{tmp}/exit"): break
        time.sleep(0.2)
    exit_line = open(f"{tmp}/exit").read().strip() if os.path.exists(f"{tmp}/exit") else "EXIT=? (still running)"
    tmux(sock, "kill-server")
    kernel_drops = udp_rcvbuf_errors() - kernel_drops_before
    recorded = "" if a.no_record else subprocess.run([a.binary, "load-bench", record], capture_output=True, text=True).stdout
    m = re.search(r"(\d+) spans", recorded); recorded_spans = int(m.group(1)) if m else -1
    valid = udp_spans + stats.get("valid spans sent", 0)
    print(f"status bar at the end: {status_line[-1].strip() if status_line else '(not found)'}")
    print(f"keys answered at the end (? opened the help): {help_shown}")
    if grpc_out.strip(): print("grpc replay: " + grpc_out.strip().splitlines()[-1])
    print(f"{exit_line}; recorded {recorded_spans} of {valid} valid spans sent ({udp_spans} UDP + {stats.get('valid spans sent', 0)} OTLP/HTTP)")
    print(f"kernel UDP receive-buffer drops during the run (all sockets, UdpRcvbufErrors): {kernel_drops}")
    for k in sorted(stats): print(f"  {k}: {stats[k]}")
    summary = open(f"{tmp}/stderr").read() if os.path.exists(f"{tmp}/stderr") else ""
    if summary:
        print("tracetty's own summary:"); print("".join("  " + l for l in summary.splitlines(True)), end="")
    books(summary, ports, stats, out)
    if samples:
        kib = [k for _, k in samples]; n = len(kib)
        fifths = [sorted(kib[i * n // 5:(i + 1) * n // 5]) for i in range(5)]
        med = [f[len(f) // 2] / 1024 if f else 0 for f in fifths]
        print(f"RSS MiB: peak {max(kib) / 1024:.0f}; median per fifth " + " / ".join(f"{m:.0f}" for m in med)
              + f"; last/middle {med[4] / med[2]:.2f}" if med[2] else "")
        if a.csv:
            with open(a.csv, "w") as f:
                f.write("seconds,rss_kib\n"); f.writelines(f"{t:.1f},{k}\n" for t, k in samples)

def number(text): return int(text.replace(",", ""))

def books(summary, ports, stats, udp_out):
    """Per listener: sent = received + dropped by the kernel (received counts malformed too);
    then spans: accepted = recorded + dropped inside tracetty."""
    m = re.search(r"sent (\d+) datagrams", udp_out); valid_datagrams = int(m.group(1)) if m else 0
    print("books (sent -> tracetty's count):")
    ok = True
    for line in summary.splitlines():
        m = re.match(r"(\S+): ([\d,]+) spans in [\d,]+\+? traces, ([\d,]+) (datagrams|requests), ([\d,]+) malformed", line)
        if not m: continue
        name, received, unit, malformed = m.group(1), number(m.group(3)), m.group(4), number(m.group(5))
        k = re.search(r"([\d,]+) datagrams dropped by the kernel", line); kernel = number(k.group(1)) if k else 0
        port = ports.get({"jaeger-collector": "collector", "zipkin-http": "zipkin"}.get(name, name))
        if unit == "datagrams":
            sent = stats.get(f"datagrams to {port}", 0) + (valid_datagrams if name == "jaeger-compact" else 0)
            adds = sent == received + kernel
            print(f"  {name}: sent {sent:,} = received {received:,} ({malformed:,} malformed) + kernel dropped {kernel:,}: {'adds up' if adds else 'DOES NOT ADD UP'}")
        elif name == "otlp-grpc":
            print(f"  {name}: tracetty counted {received:,} requests ({malformed:,} malformed)")
            continue
        else:
            sent = stats.get(f"answered on {port}", 0)
            adds = sent <= received
            print(f"  {name}: {sent:,} requests answered to the soak; tracetty counted {received:,} ({malformed:,} malformed; "
                  f"beyond the answered: slow bodies and idle connections it closed): {'adds up' if adds else 'DOES NOT ADD UP'}")
        ok = ok and adds
    m = re.search(r"recorded ([\d,]+) spans to \S+?(?:, ([\d,]+) dropped.*)?$", summary, re.M)
    accepted = sum(number(x) for x in re.findall(r"^\S+: ([\d,]+) spans in", summary, re.M))
    if m:
        recorded, dropped = number(m.group(1)), number(m.group(2) or "0")
        adds = accepted == recorded + dropped
        print(f"  spans: accepted {accepted:,} = recorded {recorded:,} + dropped by the recorder {dropped:,}: {'adds up' if adds else 'DOES NOT ADD UP'}")
        ok = ok and adds
    print("books: " + ("every counter adds up" if ok else "SOMETHING DOES NOT ADD UP"))

main()
