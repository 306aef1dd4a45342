import Testing
import TraceFormats
import TraceModel

/// A span ending `endSeconds` after `base`, named by its end, lasting 0.5 s.
private let base: UInt64 = 1_700_000_000_000_000_000
private let second: UInt64 = 1_000_000_000
private let wall0: UInt64 = 5_000 * second

private func span(_ endMillis: UInt64, id: UInt64? = nil, trace: UInt64 = 1) -> Span {
    let end = base + endMillis * 1_000_000
    return Span(traceID: TraceID(low: trace), spanID: SpanID(id ?? endMillis + 1), name: "end-\(endMillis)",
                startTimeUnixNano: end - 500_000_000, durationNano: 500_000_000)
}

private func names(_ spans: [Span]) -> [String] { spans.map(\.name) }
private func ms(_ m: UInt64) -> UInt64 { m * 1_000_000 }

@Suite struct ReplayScheduleTests {
    @Test("x1: spans come out in end order, each when its end is reached")
    func endOrderAtX1() {
        var s = ReplaySchedule()
        s.add([span(1_000), span(3_000), span(2_000)])  // loaded out of end order
        #expect(names(s.due(atWallNanos: wall0)) == ["end-1000"])  // the first end is the start point
        #expect(s.due(atWallNanos: wall0 + ms(999)).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(1_000))) == ["end-2000"])
        #expect(s.due(atWallNanos: wall0 + ms(1_999)).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(2_000))) == ["end-3000"])
        let status = s.status(atWallNanos: wall0 + ms(2_000))
        #expect(status.played == 3 && status.loaded == 3 && status.pending == 0)
        #expect(status.replayClockUnixNano == base + ms(3_000))
        #expect(!status.finished)  // loading not finished yet
        s.finishLoading()
        #expect(s.status(atWallNanos: wall0 + ms(2_000)).finished)
        #expect(s.status(atWallNanos: wall0 + ms(2_000)).percent == 100)
    }

    @Test("x10: the same gaps, ten times shorter")
    func gapsAtX10() {
        var s = ReplaySchedule(speed: 10)
        s.add([span(1_000), span(2_000), span(3_000), span(13_000)])
        #expect(names(s.due(atWallNanos: wall0)) == ["end-1000"])
        #expect(s.due(atWallNanos: wall0 + ms(99)).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(100))) == ["end-2000"])
        #expect(names(s.due(atWallNanos: wall0 + ms(200))) == ["end-3000"])
        #expect(s.nextDueWallNanos(atWallNanos: wall0 + ms(200)) == wall0 + ms(1_200))
        #expect(s.due(atWallNanos: wall0 + ms(1_199)).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(1_200))) == ["end-13000"])
        #expect(s.status(atWallNanos: wall0).speed == 10)
    }

    @Test("equal ends come out in load order")
    func tiesInLoadOrder() {
        var s = ReplaySchedule()
        s.add([span(1_000, id: 7), span(1_000, id: 3), span(1_000, id: 9)])
        #expect(s.due(atWallNanos: wall0).map(\.spanID.raw) == [7, 3, 9])
    }

    @Test("pause holds the clock and the spans; resume goes on from there")
    func pauseHolds() {
        var s = ReplaySchedule()
        s.add([span(1_000), span(2_000)])
        _ = s.due(atWallNanos: wall0)
        s.pause(atWallNanos: wall0 + ms(500))
        #expect(s.due(atWallNanos: wall0 + ms(5_000)).isEmpty)
        #expect(s.nextDueWallNanos(atWallNanos: wall0 + ms(5_000)) == nil)
        let held = s.status(atWallNanos: wall0 + ms(5_000))
        #expect(held.paused && held.replayClockUnixNano == base + ms(1_500))
        s.resume(atWallNanos: wall0 + ms(5_000))
        #expect(s.due(atWallNanos: wall0 + ms(5_499)).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(5_500))) == ["end-2000"])
    }

    @Test("step releases exactly one span and moves the clock to its end")
    func stepReleasesOne() {
        var s = ReplaySchedule(paused: true)
        s.add([span(1_000), span(4_000), span(9_000)])
        #expect(s.due(atWallNanos: wall0).isEmpty)  // starts paused
        #expect(s.step(atWallNanos: wall0)?.name == "end-1000")
        #expect(s.step(atWallNanos: wall0 + ms(1))?.name == "end-4000")
        let status = s.status(atWallNanos: wall0 + ms(60_000))
        #expect(status.replayClockUnixNano == base + ms(4_000) && status.played == 2 && status.paused)
        #expect(s.due(atWallNanos: wall0 + ms(60_000)).isEmpty)
        // Playing again continues from the stepped span's end.
        s.resume(atWallNanos: wall0 + ms(60_000))
        #expect(s.due(atWallNanos: wall0 + ms(64_999)).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(65_000))) == ["end-9000"])
        #expect(s.step(atWallNanos: wall0 + ms(65_000)) == nil)
    }

    @Test("step while playing pauses")
    func stepPauses() {
        var s = ReplaySchedule()
        s.add([span(1_000), span(2_000), span(3_000)])
        #expect(s.step(atWallNanos: wall0)?.name == "end-1000")
        #expect(s.status(atWallNanos: wall0).paused)
        #expect(s.due(atWallNanos: wall0 + ms(10_000)).isEmpty)
    }

    @Test("a speed change keeps the replay clock continuous")
    func speedChangeContinuous() {
        var s = ReplaySchedule()
        s.add([span(1_000), span(2_500), span(3_000), span(30_000)])
        _ = s.due(atWallNanos: wall0)
        #expect(s.status(atWallNanos: wall0 + ms(1_000)).replayClockUnixNano == base + ms(2_000))
        s.setSpeed(10, atWallNanos: wall0 + ms(1_000))
        #expect(s.status(atWallNanos: wall0 + ms(1_000)).replayClockUnixNano == base + ms(2_000))
        #expect(names(s.due(atWallNanos: wall0 + ms(1_050))) == ["end-2500"])
        #expect(names(s.due(atWallNanos: wall0 + ms(1_100))) == ["end-3000"])
        s.setSpeed(0.1, atWallNanos: wall0 + ms(1_100))
        #expect(s.status(atWallNanos: wall0 + ms(11_100)).replayClockUnixNano == base + ms(4_000))
        s.setSpeed(5_000, atWallNanos: wall0 + ms(11_100))  // clamped
        #expect(s.status(atWallNanos: wall0).speed == 1_000)
        #expect(names(s.due(atWallNanos: wall0 + ms(11_126))) == ["end-30000"])
    }

    @Test("from the beginning, a span loaded late that ends before the start point is played, not skipped")
    func nothingSkippedFromTheBeginning() {
        var s = ReplaySchedule()
        s.add([span(5_000)])
        #expect(names(s.due(atWallNanos: wall0)) == ["end-5000"])
        // A second file (or an unsorted dump) brings an earlier end.
        s.add([span(1_000)])
        #expect(names(s.due(atWallNanos: wall0 + 1)) == ["end-1000"])
        #expect(s.status(atWallNanos: wall0 + 1).skipped == 0)
        // With --from, the same span is skipped (before the chosen start).
        var from = ReplaySchedule(start: .offset(nanos: 0))
        from.add([span(5_000)])
        _ = from.due(atWallNanos: wall0)
        from.add([span(1_000)])
        #expect(from.due(atWallNanos: wall0 + 1).isEmpty)
        #expect(from.status(atWallNanos: wall0 + 1).skipped == 1)
    }

    @Test("spans loaded late, ending behind the clock, are released at once")
    func lateSpansAtOnce() {
        var s = ReplaySchedule()
        s.add([span(1_000), span(10_000)])
        _ = s.due(atWallNanos: wall0)
        #expect(s.due(atWallNanos: wall0 + ms(4_000)).isEmpty)
        s.add([span(2_000), span(5_500), span(3_000)])
        #expect(s.nextDueWallNanos(atWallNanos: wall0 + ms(4_000)) == wall0 + ms(4_000))
        #expect(names(s.due(atWallNanos: wall0 + ms(4_000))) == ["end-2000", "end-3000"])
        #expect(s.due(atWallNanos: wall0 + ms(4_499)).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(4_500))) == ["end-5500"])
    }

    @Test("from: an offset after the first end, or a Unix time; earlier spans are skipped")
    func startPoints() {
        var s = ReplaySchedule(start: .offset(nanos: ms(2_000)))
        s.add([span(1_000), span(2_000), span(3_000), span(4_000)])
        #expect(names(s.due(atWallNanos: wall0)) == ["end-3000"])
        #expect(s.status(atWallNanos: wall0).skipped == 2)
        s.add([span(1_500)])  // ends before the start point: skipped, not sent
        #expect(s.due(atWallNanos: wall0).isEmpty)
        #expect(names(s.due(atWallNanos: wall0 + ms(1_000))) == ["end-4000"])
        let status = s.status(atWallNanos: wall0 + ms(1_000))
        #expect(status.skipped == 3 && status.played == 2 && status.loaded == 5)

        var absolute = ReplaySchedule(start: .unixNanos(base + ms(3_500)))
        absolute.add([span(1_000), span(3_000), span(4_000)])
        #expect(absolute.due(atWallNanos: wall0).isEmpty)
        #expect(names(absolute.due(atWallNanos: wall0 + ms(500))) == ["end-4000"])
    }

    @Test("jump moves the clock forward; what it passes is sent at once")
    func jumpForward() {
        var s = ReplaySchedule()
        s.add([span(1_000), span(5_000), span(11_000), span(20_000)])
        _ = s.due(atWallNanos: wall0)
        s.jump(byNanos: 10 * second, atWallNanos: wall0 + ms(500))
        #expect(s.status(atWallNanos: wall0 + ms(500)).replayClockUnixNano == base + ms(11_500))
        #expect(names(s.due(atWallNanos: wall0 + ms(500))) == ["end-5000", "end-11000"])
        #expect(names(s.due(atWallNanos: wall0 + ms(9_000))) == ["end-20000"])
    }

    @Test("unlimited speed: everything loaded is due at once, in end order, within the limit")
    func unlimited() {
        var s = ReplaySchedule(speed: ReplaySchedule.unlimited)
        s.add([span(9_000), span(1_000), span(5_000)])
        #expect(names(s.due(atWallNanos: wall0, limit: 2)) == ["end-1000", "end-5000"])
        #expect(names(s.due(atWallNanos: wall0)) == ["end-9000"])
        #expect(s.status(atWallNanos: wall0).replayClockUnixNano == base + ms(9_000))
    }

    @Test("bounded memory: wantsMoreSpans stops the loader at the high-water mark; startOver for loops")
    func boundedAndLoop() {
        var s = ReplaySchedule(pendingHighWater: 3)
        s.add([span(1_000), span(2_000)])
        #expect(s.wantsMoreSpans)
        s.add([span(3_000)])
        #expect(!s.wantsMoreSpans)
        _ = s.due(atWallNanos: wall0 + 0)
        #expect(s.wantsMoreSpans)
        _ = s.due(atWallNanos: wall0 + ms(2_000))
        s.finishLoading()
        #expect(s.status(atWallNanos: wall0 + ms(2_000)).finished)
        s.startOver()
        let fresh = s.status(atWallNanos: wall0 + ms(2_000))
        #expect(fresh.loops == 1 && fresh.played == 0 && fresh.loaded == 0 && !fresh.finished && fresh.replayClockUnixNano == nil)
        s.add([span(1_000), span(2_000)])
        #expect(names(s.due(atWallNanos: wall0 + ms(10_000))) == ["end-1000"])  // restarts at the same timestamps
    }

    @Test("nothing loaded: nothing starts")
    func empty() {
        var s = ReplaySchedule()
        #expect(s.due(atWallNanos: wall0).isEmpty)
        #expect(s.step(atWallNanos: wall0) == nil)
        #expect(s.status(atWallNanos: wall0).replayClockUnixNano == nil)
        #expect(s.nextDueWallNanos(atWallNanos: wall0) == nil)
    }
}
