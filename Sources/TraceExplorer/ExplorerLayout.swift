import TerminalUI

/// Where each part of the screen goes at the current size. Shared by the key
/// handling (page sizes, scrolling) and the views, so they always agree.
public struct ExplorerLayout: Sendable, Equatable {
    public static let minimumWidth = 40
    public static let minimumHeight = 10

    public var tooSmall: Bool
    public var appBar: Rect
    /// Trace list: column header and rows.
    public var listHeader: Rect
    public var listBody: Rect
    /// Trace view: trace header, time axis, waterfall rows.
    public var traceHeader: Rect
    public var axis: Rect
    public var waterfallBody: Rect
    /// Empty when the detail pane is closed. First row is its title.
    public var detail: Rect
    public var statusBar: Rect
    public var hintBar: Rect

    /// - Parameter waterfallRows: rows the open trace has to show; with the
    ///   detail open the waterfall takes no more than it needs.
    public init(width: Int, height: Int, detailOpen: Bool, waterfallRows: Int = .max) {
        tooSmall = width < Self.minimumWidth || height < Self.minimumHeight
        appBar = Rect(x: 0, y: 0, width: width, height: 1)
        statusBar = Rect(x: 0, y: max(0, height - 2), width: width, height: 1)
        hintBar = Rect(x: 0, y: max(0, height - 1), width: width, height: 1)
        let contentTop = 1
        let contentHeight = max(0, height - 3)
        listHeader = Rect(x: 0, y: contentTop, width: width, height: 1)
        listBody = Rect(x: 0, y: contentTop + 1, width: width, height: max(0, contentHeight - 1))
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
    }

    public init(_ state: ExplorerState) {
        self.init(width: state.width, height: state.height, detailOpen: state.traceView?.detailOpen ?? false,
                  waterfallRows: state.traceView?.visibleRows.count ?? .max)
    }

    /// Detail rows below its title row.
    public var detailBodyHeight: Int { max(0, detail.height - 1) }
}
