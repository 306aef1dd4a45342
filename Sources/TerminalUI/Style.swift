/// Text attributes a terminal can show besides colour.
public struct TextAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = TextAttributes(rawValue: 1 << 0)
    public static let dim = TextAttributes(rawValue: 1 << 1)
    public static let italic = TextAttributes(rawValue: 1 << 2)
    public static let underline = TextAttributes(rawValue: 1 << 3)
    public static let reverse = TextAttributes(rawValue: 1 << 4)
}

/// Foreground, background and attributes of a cell.
public struct Style: Hashable, Sendable {
    public var foreground: Color
    public var background: Color
    public var attributes: TextAttributes

    public init(foreground: Color = .default, background: Color = .default, attributes: TextAttributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    /// Default colours, no attributes.
    public static let plain = Style()

    public static func fg(_ color: Color, _ attributes: TextAttributes = []) -> Style {
        Style(foreground: color, attributes: attributes)
    }

    public static func bg(_ color: Color, _ attributes: TextAttributes = []) -> Style {
        Style(background: color, attributes: attributes)
    }

    public static let bold = Style(attributes: .bold)
    public static let dim = Style(attributes: .dim)
    public static let reverse = Style(attributes: .reverse)
    public static let underline = Style(attributes: .underline)

    public func foreground(_ color: Color) -> Style { var s = self; s.foreground = color; return s }
    public func background(_ color: Color) -> Style { var s = self; s.background = color; return s }
    public func adding(_ attributes: TextAttributes) -> Style { var s = self; s.attributes.formUnion(attributes); return s }
    public func removing(_ attributes: TextAttributes) -> Style { var s = self; s.attributes.subtract(attributes); return s }

    public var bold: Style { adding(.bold) }
    public var dim: Style { adding(.dim) }
    public var italic: Style { adding(.italic) }
    public var underline: Style { adding(.underline) }
    public var reversed: Style { adding(.reverse) }
}
