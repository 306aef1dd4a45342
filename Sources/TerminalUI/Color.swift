/// A terminal colour: the terminal's default, one of the 16 ANSI colours, or one of the
/// 256 palette entries (16–231 a 6×6×6 cube, 232–255 a grey ramp).
public enum Color: Hashable, Sendable {
    case `default`
    /// 0–7 normal, 8–15 bright. Values above 15 are treated as `value % 16`.
    case ansi(UInt8)
    /// 0–255; 0–15 are the ANSI colours.
    case palette(UInt8)

    public static let black = Color.ansi(0)
    public static let red = Color.ansi(1)
    public static let green = Color.ansi(2)
    public static let yellow = Color.ansi(3)
    public static let blue = Color.ansi(4)
    public static let magenta = Color.ansi(5)
    public static let cyan = Color.ansi(6)
    public static let white = Color.ansi(7)
    public static let brightBlack = Color.ansi(8)
    public static let brightRed = Color.ansi(9)
    public static let brightGreen = Color.ansi(10)
    public static let brightYellow = Color.ansi(11)
    public static let brightBlue = Color.ansi(12)
    public static let brightMagenta = Color.ansi(13)
    public static let brightCyan = Color.ansi(14)
    public static let brightWhite = Color.ansi(15)

    /// Approximate sRGB value (xterm defaults), `nil` for `.default`.
    public var rgb: (r: Int, g: Int, b: Int)? {
        switch self {
        case .default: return nil
        case .ansi(let n): return Color.ansiRGB[Int(n % 16)]
        case .palette(let n): return Color.paletteRGB(n)
        }
    }

    /// The palette index this colour stands for (`nil` for `.default`).
    public var paletteIndex: Int? {
        switch self {
        case .default: return nil
        case .ansi(let n): return Int(n % 16)
        case .palette(let n): return Int(n)
        }
    }

    /// The nearest of the 16 ANSI colours (identity for `.ansi` and palette 0–15).
    public var nearestANSI: Color {
        switch self {
        case .default: return .default
        case .ansi(let n): return .ansi(n % 16)
        case .palette(let n):
            if n < 16 { return .ansi(n) }
            let (r, g, b) = Color.paletteRGB(n)
            // Keep hue: a coloured entry maps to a coloured ANSI colour (dark navy stays
            // blue rather than becoming black), a grey to black/grey/white.
            let chromatic = max(r, g, b) - min(r, g, b) >= 40
            let candidates = chromatic ? [1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14] : [0, 7, 8, 15]
            var best = 0
            var bestDistance = Int.max
            for index in candidates {
                let c = Color.ansiRGB[index]
                let d = Color.distance((r, g, b), c)
                if d < bestDistance { bestDistance = d; best = index }
            }
            return .ansi(UInt8(best))
        }
    }

    static let ansiRGB: [(r: Int, g: Int, b: Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
        (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
        (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]

    static func paletteRGB(_ n: UInt8) -> (r: Int, g: Int, b: Int) {
        let i = Int(n)
        if i < 16 { return ansiRGB[i] }
        if i >= 232 {
            let v = 8 + (i - 232) * 10
            return (v, v, v)
        }
        let c = i - 16
        let level = { (x: Int) -> Int in x == 0 ? 0 : 55 + x * 40 }
        return (level(c / 36), level((c / 6) % 6), level(c % 6))
    }

    /// Squared distance weighted roughly by perceived luminance (redmean-lite).
    static func distance(_ a: (r: Int, g: Int, b: Int), _ b: (r: Int, g: Int, b: Int)) -> Int {
        let dr = a.r - b.r, dg = a.g - b.g, db = a.b - b.b
        return 3 * dr * dr + 4 * dg * dg + 2 * db * db
    }

    /// Distance between two colours; `.default` is only near itself. Used by backends to
    /// pick a substitute colour pair when pairs run out.
    public static func distance(_ a: Color, _ b: Color) -> Int {
        switch (a.rgb, b.rgb) {
        case (nil, nil): return 0
        case (let x?, let y?): return distance(x, y)
        default: return 1_000_000
        }
    }
}

/// What the terminal can show.
public enum ColorMode: Hashable, Sendable, CaseIterable {
    /// No colours at all (NO_COLOR, dumb terminals): only attributes.
    case none
    /// The 16 ANSI colours.
    case sixteen
    /// The 256-colour palette.
    case palette256
}

extension Color {
    /// This colour as the given mode can show it.
    public func degraded(to mode: ColorMode) -> Color {
        switch mode {
        case .palette256: return self
        case .sixteen: return nearestANSI
        case .none: return .default
        }
    }
}

extension Style {
    /// This style as the given mode can show it. 256 → nearest of 16; `.none` drops the
    /// colours but keeps bold/dim/italic/underline/reverse so a selection stays visible.
    /// A coloured style that would become indistinguishable from plain text in `.none`
    /// (a background-only highlight) gains `.reverse`.
    public func degraded(to mode: ColorMode) -> Style {
        switch mode {
        case .palette256: return self
        case .sixteen:
            return Style(foreground: foreground.degraded(to: mode), background: background.degraded(to: mode), attributes: attributes)
        case .none:
            var attributes = self.attributes
            if background != .default && !attributes.contains(.reverse) {
                attributes.insert(.reverse)
            }
            return Style(foreground: .default, background: .default, attributes: attributes)
        }
    }
}
