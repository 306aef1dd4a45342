/// Something that draws itself into an area of a buffer (ratatui style). Views keep
/// their state elsewhere; rendering is a pure function of the widget's values.
public protocol Widget {
    func render(into buffer: inout CellBuffer, area: Rect)
}

extension CellBuffer {
    /// Renders `widget` into `area` (clipped to the buffer by the widget's own writes).
    public mutating func render(_ widget: some Widget, in area: Rect) {
        widget.render(into: &self, area: area.intersection(self.area))
    }
}
