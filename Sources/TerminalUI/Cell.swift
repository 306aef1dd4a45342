/// One terminal column. A wide character occupies two cells: the first holds the
/// grapheme, the second is a *continuation* cell whose grapheme is empty.
public struct Cell: Hashable, Sendable {
    /// One extended grapheme cluster (already sanitized), or "" for a continuation cell.
    public var grapheme: String
    public var style: Style

    public init(_ grapheme: String = " ", style: Style = .plain) {
        self.grapheme = grapheme
        self.style = style
    }

    public static let blank = Cell()

    public static func blank(_ style: Style) -> Cell { Cell(" ", style: style) }

    /// The right half of a wide character.
    public static func continuation(_ style: Style) -> Cell { Cell("", style: style) }

    public var isContinuation: Bool { grapheme.isEmpty }
}
