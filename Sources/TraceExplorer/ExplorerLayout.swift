import TerminalUI

extension Focus {
    /// The waterfall (and its detail pane) is on screen.
    var showsWaterfall: Bool { self == .waterfall || self == .detail }
}

/// Where each part of the screen goes at the current size. Shared by the key
/// handling (page sizes, scrolling) and the views, so they always agree.
public struct ExplorerLayout: Sendable, Equatable {
    public static let minimumWidth = 40
    public static let minimumHeight = 10

    public var tooSmall: Bool
    public var appBar: Rect
    /// Trace list: the duration plot (empty when hidden or no room), column header and rows.
    public var plot: Rect
    public var listHeader: Rect
    public var listBody: Rect
    /// The query line (and its error row) under the list, when open.
    public var queryLine: Rect
    /// Trace view: trace header, time axis, waterfall rows.
    public var traceHeader: Rect
    public var axis: Rect
    public var waterfallBody: Rect
    /// Empty when the detail pane is closed. First row is its title.
    public var detail: Rect
    /// The find bar (and its error row) under the waterfall, when open.
    public var findBar: Rect
    public var statusBar: Rect
    public var hintBar: Rect
    public var helpBox: Rect

    /// - Parameters:
    ///   - waterfallRows: rows the open trace has to show; with the detail
    ///     open the waterfall takes no more than it needs.
    ///   - lineRows: rows of an open query line or find bar (0 when closed).
    public init(width: Int, height: Int, detailOpen: Bool, waterfallRows: Int = .max, showsPlot: Bool = false,
                lineRows: Int = 0) {
        tooSmall = width < Self.minimumWidth || height < Self.minimumHeight
        appBar = Rect(x: 0, y: 0, width: width, height: 1)
        statusBar = Rect(x: 0, y: max(0, height - 2), width: width, height: 1)
        hintBar = Rect(x: 0, y: max(0, height - 1), width: width, height: 1)
        let contentTop = 1
        let contentHeight = max(0, height - 3 - lineRows)
        let lineRect = Rect(x: 0, y: contentTop + contentHeight, width: width, height: lineRows)

        // The plot needs room for itself and a useful list: at 40x10 it gives way.
        let plotHeight = showsPlot && contentHeight >= 16 ? min(10, max(5, contentHeight / 3)) : 0
        plot = Rect(x: 0, y: contentTop, width: width, height: plotHeight)
        listHeader = Rect(x: 0, y: contentTop + plotHeight, width: width, height: 1)
        listBody = Rect(x: 0, y: contentTop + plotHeight + 1, width: width, height: max(0, contentHeight - plotHeight - 1))
        queryLine = lineRect
        findBar = lineRect

        traceHeader = Rect(x: 0, y: contentTop, width: width, height: 1)
        axis = Rect(x: 0, y: contentTop + 1, width: width, height: 1)
        let bodyTop = contentTop + 2
        let bodyAndDetail = max(0, contentHeight - 2)
        if detailOpen {
            // The waterfall keeps at least 3 rows; the detail gets the larger part.
            let share = max(3, min(waterfallRows, bodyAndDetail * 2 / 5))
            waterfallBody = Rect(x: 0, y: bodyTop, width: width, height: min(share, bodyAndDetail))
            let detailTop = bodyTop + waterfallBody.height
            detail = Rect(x: 0, y: detailTop, width: width, height: max(0, bodyAndDetail - waterfallBody.height))
        } else {
            waterfallBody = Rect(x: 0, y: bodyTop, width: width, height: bodyAndDetail)
            detail = Rect(x: 0, y: bodyTop + bodyAndDetail, width: width, height: 0)
        }
        let boxWidth = min(width - 4, 72)
        let boxHeight = max(0, height - 3)
        helpBox = Rect(x: (width - boxWidth) / 2, y: 1, width: boxWidth, height: boxHeight)
    }

    public init(_ model: ExplorerModel) {
        var lineRows = 0
        switch model.overlay {
        case .queryLine(let line): lineRows = line.error == nil ? 1 : 2
        case .findBar(let bar): lineRows = bar.error == nil ? 1 : 2
        case .export: lineRows = 1
        // A find's matches stay on show (`3/17`) while n / N step through them.
        default: lineRows = model.trace?.find != nil && model.screenFocus.showsWaterfall ? 1 : 0
        }
        let waterfall = model.screenFocus.showsWaterfall
        self.init(width: model.width, height: model.height, detailOpen: waterfall && (model.trace?.isDetailOpen ?? false),
                  waterfallRows: waterfall ? model.trace?.visibleRows.count ?? .max : .max,
                  showsPlot: model.trace == nil && model.list.showsPlot && model.latency == nil && model.serviceGraph == nil,
                  lineRows: lineRows)
    }

    /// A layout for drawing a table to text (`print`): header on row 0,
    /// column titles on row 1, the body below.
    public static func plain(width: Int, height: Int) -> ExplorerLayout {
        var layout = ExplorerLayout(width: width, height: height + 3, detailOpen: false)
        layout.traceHeader = Rect(x: 0, y: 0, width: width, height: 1)
        layout.axis = Rect(x: 0, y: 1, width: width, height: 1)
        layout.waterfallBody = Rect(x: 0, y: 2, width: width, height: max(0, height - 2))
        return layout
    }

    /// Detail rows below its title row.
    public var detailBodyHeight: Int { max(0, detail.height - 1) }
    /// Help rows between its title and footer.
    public var helpBodyHeight: Int { max(0, helpBox.height - 3) }
}
