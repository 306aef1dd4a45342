/// A rectangle of cells; `x`/`y` are the top-left column/row.
public struct Rect: Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public init(width: Int, height: Int) { self.init(x: 0, y: 0, width: width, height: height) }

    public static let zero = Rect(x: 0, y: 0, width: 0, height: 0)

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var description: String { "Rect(x: \(x), y: \(y), w: \(width), h: \(height))" }

    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    public func intersection(_ other: Rect) -> Rect {
        let nx = max(x, other.x), ny = max(y, other.y)
        let mx = min(maxX, other.maxX), my = min(maxY, other.maxY)
        guard mx > nx, my > ny else { return Rect(x: nx, y: ny, width: 0, height: 0) }
        return Rect(x: nx, y: ny, width: mx - nx, height: my - ny)
    }

    /// Shrinks every side (negative values grow). Never produces a negative size.
    public func inset(top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0) -> Rect {
        Rect(x: x + left, y: y + top, width: width - left - right, height: height - top - bottom)
    }

    public func inset(by n: Int) -> Rect { inset(top: n, left: n, bottom: n, right: n) }

    /// The rows `y ..< y+height` of this rect, one rect of height 1 each.
    public var rows: [Rect] { (0..<height).map { Rect(x: x, y: y + $0, width: width, height: 1) } }

    /// Top part of `height` rows (clamped) and the rest.
    public func splitTop(_ rows: Int) -> (top: Rect, rest: Rect) {
        let h = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: h), Rect(x: x, y: y + h, width: width, height: height - h))
    }

    /// Bottom part of `height` rows (clamped) and the rest above it.
    public func splitBottom(_ rows: Int) -> (rest: Rect, bottom: Rect) {
        let h = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: height - h), Rect(x: x, y: maxY - h, width: width, height: h))
    }

    /// Left part of `columns` columns (clamped) and the rest.
    public func splitLeft(_ columns: Int) -> (left: Rect, rest: Rect) {
        let w = min(max(0, columns), width)
        return (Rect(x: x, y: y, width: w, height: height), Rect(x: x + w, y: y, width: width - w, height: height))
    }

    /// Right part of `columns` columns (clamped) and the rest to its left.
    public func splitRight(_ columns: Int) -> (rest: Rect, right: Rect) {
        let w = min(max(0, columns), width)
        return (Rect(x: x, y: y, width: width - w, height: height), Rect(x: maxX - w, y: y, width: w, height: height))
    }

    /// Splits horizontally at a fraction (0...1) of the width, rounding down.
    public func splitHorizontally(fraction: Double) -> (left: Rect, right: Rect) {
        let f = min(1, max(0, fraction))
        let r = splitLeft(Int(Double(width) * f))
        return (r.left, r.rest)
    }

    /// Splits vertically at a fraction (0...1) of the height, rounding down.
    public func splitVertically(fraction: Double) -> (top: Rect, bottom: Rect) {
        let f = min(1, max(0, fraction))
        let r = splitTop(Int(Double(height) * f))
        return (r.top, r.rest)
    }
}
