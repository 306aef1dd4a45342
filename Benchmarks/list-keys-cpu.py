#!/usr/bin/env python3
"""CPU per key in the trace list, measured from outside the process:
`tracetty open DUMP` in a 120x36 pty; once the dump is loaded and the
process is quiet, an optional filter is typed (`/`, the query, Enter) and the
sort cycled (`s` N times); then the process's utime+stime (/proc/PID/stat,
every thread) is read over an idle spell and over KEYS key presses, and the
idle rate is taken off. The keys alternate in groups of 50 (down, then up),
so the list scrolls as well as moving the selection. Usage:
    Benchmarks/list-keys-cpu.py BINARY DUMP [--filter Q] [--sorts N] [--keys 500] [--rounds 3]
        [--key j/k|pgdn/pgup] [--gap-ms 10]"""
import argparse, fcntl, os, pty, select, signal, statistics, struct, sys, termios, time

TICK = os.sysconf("SC_CLK_TCK")
KEYS = {"j/k": (b"j", b"k"), "pgdn/pgup": (b"\x1b[6~", b"\x1b[5~")}


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("dump")
    p.add_argument("--filter", default="")
    p.add_argument("--sorts", type=int, default=0, help="presses of s before measuring (1: by duration)")
    p.add_argument("--keys", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--key", choices=sorted(KEYS), default="j/k")
    p.add_argument("--gap-ms", type=float, default=10, help="pause between key presses")
    p.add_argument("--idle", type=float, default=5, help="seconds of the idle baseline in each round")
    a = p.parse_args()

    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"; os.environ["LANG"] = "C.UTF-8"
        os.execv(a.binary, [a.binary, "open", a.dump])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    os.kill(pid, signal.SIGWINCH)

    def drain(seconds):
        until = time.monotonic() + seconds
        while True:
            left = until - time.monotonic()
            if left <= 0: return
            r, _, _ = select.select([fd], [], [], min(left, 0.01))
            if r:
                try: os.read(fd, 65536)
                except OSError: return

    def quiet():
        """The process spends under 2% of a core for two spells of 2 s in a
        row (loading keeps a core busy, so this is after the load)."""
        started, calm = time.monotonic(), 0
        while time.monotonic() - started < 600:
            before = cpu_ticks(pid); drain(2.0)
            calm = calm + 1 if cpu_ticks(pid) - before <= 0.04 * TICK else 0
            if calm == 2: return
        sys.exit("never settled")

    quiet()
    load_cpu = cpu_ticks(pid) / TICK
    if a.filter:
        os.write(fd, b"/"); drain(0.2)
        for c in a.filter.encode(): os.write(fd, bytes([c])); drain(0.05)
        os.write(fd, b"\r"); drain(1.0)
    for _ in range(a.sorts):
        os.write(fd, b"s"); drain(0.5)
    quiet()

    down, up = KEYS[a.key]
    per_key = []
    for _ in range(a.rounds):
        t0, c0 = time.monotonic(), cpu_ticks(pid)
        drain(a.idle)
        idle_rate = (cpu_ticks(pid) - c0) / (time.monotonic() - t0)
        t0, c0 = time.monotonic(), cpu_ticks(pid)
        for i in range(a.keys):
            os.write(fd, down if (i // 50) % 2 == 0 else up)
            drain(a.gap_ms / 1000)
        drain(0.5)
        ticks = cpu_ticks(pid) - c0 - idle_rate * (time.monotonic() - t0)
        per_key.append(ticks / TICK / a.keys * 1000)
    os.write(fd, b"q"); drain(0.5)
    try: os.kill(pid, signal.SIGTERM)
    except ProcessLookupError: pass
    os.waitpid(pid, 0)
    what = f"filter {a.filter!r}" if a.filter else "no filter"
    print(f"{os.path.basename(a.dump)} ({what}, s x{a.sorts}, {a.key}, {a.keys} keys x {a.rounds} rounds, "
          f"load {load_cpu:.1f} s CPU): ms CPU per key median {statistics.median(per_key):.3f} "
          f"(rounds {', '.join(f'{v:.3f}' for v in per_key)})")


main()
