import TraceModel
import TerminalUI

extension ExplorerState {
    /// Applies one input event; returns what the loop must do.
    public mutating func handle(_ event: InputEvent) -> [ExplorerEffect] {
        switch event {
        case .resize(let width, let height):
            self.width = width
            self.height = height
            clampScrolling()
            return []
        case .key(let key):
            return handle(key)
        case .mouse(let mouse):
            return handle(mouse)
        case .quit:
            return [.quit]
        }
    }

    public mutating func handle(_ key: Key) -> [ExplorerEffect] {
        if key == .ctrl("c") { return [.quit] }
        if showHelp {
            switch key {
            case .escape, .char("?"), .char("q"), .enter, .backspace: showHelp = false
            case .down, .char("j"): helpScroll += 1
            case .up, .char("k"): helpScroll = max(0, helpScroll - 1)
            case .pageDown, .char(" "): helpScroll += 10
            case .pageUp: helpScroll = max(0, helpScroll - 10)
            default: break
            }
            return []
        }
        switch key {
        case .char("?"):
            showHelp = true
            helpScroll = 0
            return []
        case .char("q"):
            return [.quit]
        default:
            break
        }
        switch context {
        case .traceList: return handleListKey(key)
        case .waterfall: return handleWaterfallKey(key)
        case .detail: return handleDetailKey(key)
        case .help: return []
        }
    }

    mutating func handleListKey(_ key: Key) -> [ExplorerEffect] {
        let page = max(1, ExplorerLayout(self).listBody.height - 1)
        let index = selectedIndex ?? 0
        // Moving by hand leaves follow mode: the selection is yours now.
        switch key {
        case .down, .up, .char("j"), .char("k"), .pageDown, .pageUp, .ctrl("f"), .ctrl("b"), .home, .end, .char("g"), .char("G"):
            follow = false
        default:
            break
        }
        switch key {
        case .char(" "), .char("p"):
            setPaused(!paused)
        case .char("f"):
            setFollow(!follow)
        case .down, .char("j"): selectTrace(at: index + 1)
        case .up, .char("k"): selectTrace(at: index - 1)
        case .pageDown, .ctrl("f"): selectTrace(at: index + page)
        case .pageUp, .ctrl("b"): selectTrace(at: index - page)
        case .home, .char("g"): selectTrace(at: 0)
        case .end, .char("G"): selectTrace(at: traces.count - 1)
        case .char("s"):
            follow = false
            setSort(sort == .start ? .duration : .start, descending: true)
        case .char("r"):
            follow = false
            setSort(sort, descending: !descending)
        case .enter, .right, .char("l"):
            if let id = selectedTraceID { return [.loadTrace(id)] }
        default:
            break
        }
        clampScrolling()
        return []
    }

    public mutating func setSort(_ sort: TraceSort, descending: Bool) {
        self.sort = sort
        self.descending = descending
        sortTraces()
        clampScrolling()
    }

    /// The loop fetched the trace asked for by `.loadTrace`.
    public mutating func openTrace(_ trace: Trace) {
        traceView = TraceViewState(trace: trace)
        clampScrolling()
    }

    /// A newer version of the open trace (live data): keep how it is viewed.
    public mutating func updateOpenTrace(_ trace: Trace) {
        guard traceView?.trace.traceID == trace.traceID else { return }
        traceView?.replaceTrace(trace)
        clampScrolling()
    }

    mutating func handleWaterfallKey(_ key: Key) -> [ExplorerEffect] {
        guard var view = traceView else { return [] }
        let page = max(1, ExplorerLayout(self).waterfallBody.height - 1)
        let index = view.selectedVisibleIndex
        switch key {
        case .down, .char("j"): view.select(visibleIndex: index + 1)
        case .up, .char("k"): view.select(visibleIndex: index - 1)
        case .pageDown, .ctrl("f"): view.select(visibleIndex: index + page)
        case .pageUp, .ctrl("b"): view.select(visibleIndex: index - page)
        case .home, .char("g"): view.select(visibleIndex: 0)
        case .end, .char("G"): view.select(visibleIndex: view.visibleRows.count - 1)
        case .enter:
            view.detailOpen = true
            view.detailFocused = true
            view.detailScroll = 0
        case .tab:
            if view.detailOpen { view.detailFocused = true } else { view.detailOpen = true; view.detailFocused = true }
        case .char(" "):
            if let node = view.selectedRow, node.childCount > 0 {
                view.setCollapsed(node.spanIndex, !view.collapsed.contains(node.spanIndex))
            }
        case .left, .char("h"):
            if let node = view.selectedRow {
                if node.childCount > 0 && !view.collapsed.contains(node.spanIndex) {
                    view.setCollapsed(node.spanIndex, true)
                } else if node.parentRow >= 0 {
                    view.selectedSpan = view.trace.tree.rows[Int(node.parentRow)].spanIndex
                }
            }
        case .right, .char("l"):
            if let node = view.selectedRow, view.collapsed.contains(node.spanIndex) {
                view.setCollapsed(node.spanIndex, false)
            }
        case .char("u"):
            if let node = view.selectedRow, node.parentRow >= 0 {
                view.selectedSpan = view.trace.tree.rows[Int(node.parentRow)].spanIndex
            }
        case .char("p"):
            setPaused(!paused)
        case .char("C"): view.collapseAll()
        case .char("E"): view.expandAll()
        case .escape, .backspace:
            if view.detailOpen {
                view.detailOpen = false
                view.detailFocused = false
            } else {
                traceView = nil
                clampScrolling()
                return []
            }
        default:
            break
        }
        traceView = view
        clampScrolling()
        return []
    }

    mutating func handleDetailKey(_ key: Key) -> [ExplorerEffect] {
        guard var view = traceView else { return [] }
        let page = max(1, ExplorerLayout(self).detailBodyHeight - 1)
        switch key {
        case .down, .char("j"): view.detailScroll += 1
        case .up, .char("k"): view.detailScroll -= 1
        case .pageDown, .ctrl("f"), .char(" "): view.detailScroll += page
        case .pageUp, .ctrl("b"): view.detailScroll -= page
        case .home, .char("g"): view.detailScroll = 0
        case .end, .char("G"): view.detailScroll = Int.max / 2
        case .char("]"): view.select(visibleIndex: view.selectedVisibleIndex + 1)
        case .char("["): view.select(visibleIndex: view.selectedVisibleIndex - 1)
        case .tab: view.detailFocused = false
        case .escape, .backspace:
            view.detailOpen = false
            view.detailFocused = false
        default:
            break
        }
        traceView = view
        clampScrolling()
        return []
    }

    /// Wheel scrolls what is under the pointer; a click selects the row under
    /// it, and a click on the selected row opens it (trace -> waterfall -> detail).
    mutating func handle(_ mouse: MouseEvent) -> [ExplorerEffect] {
        guard !showHelp else { return [] }
        let layout = ExplorerLayout(self)
        let overDetail = traceView?.detailOpen == true && layout.detail.contains(x: mouse.x, y: mouse.y)
        switch mouse.kind {
        case .wheelDown, .wheelUp:
            let key: Key = mouse.kind == .wheelDown ? .down : .up
            if traceView != nil {
                traceView?.detailFocused = overDetail
            }
            return handle(key)
        case .press(.left):
            if var view = traceView {
                if overDetail {
                    view.detailFocused = true
                    traceView = view
                    return []
                }
                guard layout.waterfallBody.contains(x: mouse.x, y: mouse.y) else { return [] }
                let index = view.scrollTop + (mouse.y - layout.waterfallBody.y)
                guard index < view.visibleRows.count else { return [] }
                view.detailFocused = false
                if index == view.selectedVisibleIndex {
                    view.detailOpen = true
                } else {
                    view.select(visibleIndex: index)
                }
                traceView = view
                clampScrolling()
                return []
            }
            guard layout.listBody.contains(x: mouse.x, y: mouse.y) else { return [] }
            let index = listScrollTop + (mouse.y - layout.listBody.y)
            guard index < traces.count else { return [] }
            if index == selectedIndex { return [.loadTrace(traces[index].traceID)] }
            selectTrace(at: index)
            clampScrolling()
            return []
        default:
            return []
        }
    }

    /// Keeps the selection on screen and the scroll offsets in range.
    mutating func clampScrolling() {
        let layout = ExplorerLayout(self)
        if let index = selectedIndex {
            listScrollTop = Self.scrolled(listScrollTop, toShow: index, rows: layout.listBody.height, count: traces.count)
        } else {
            listScrollTop = 0
        }
        guard var view = traceView else { return }
        view.scrollTop = Self.scrolled(
            view.scrollTop, toShow: view.selectedVisibleIndex, rows: layout.waterfallBody.height,
            count: view.visibleRows.count)
        if view.detailOpen {
            let lines = SpanDetailView.lineCount(state: self, view: view, width: layout.detail.width)
            view.detailScroll = min(max(0, view.detailScroll), max(0, lines - layout.detailBodyHeight))
        } else {
            view.detailScroll = 0
        }
        traceView = view
    }

    static func scrolled(_ top: Int, toShow index: Int, rows: Int, count: Int) -> Int {
        guard rows > 0, count > 0 else { return 0 }
        var top = top
        if index < top { top = index }
        if index >= top + rows { top = index - rows + 1 }
        return min(max(0, top), max(0, count - rows))
    }
}
