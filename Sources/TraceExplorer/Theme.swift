import TerminalUI

/// The explorer's styles. Written in 256 colours; the backend degrades them to
/// 16 or none. Nothing relies on colour alone: selection is reverse video,
/// bars are block glyphs, errors carry a `!`.
public enum Theme {
    public static let appBar = Style(foreground: .palette(255), background: .palette(24), attributes: [.bold])
    public static let header = Style(foreground: .default, background: .default, attributes: [.bold, .underline])
    /// A background, not reverse video: service colours stay readable on the
    /// selected row. With colours off the backend turns it into reverse.
    public static let selected = Style(foreground: .palette(255), background: .palette(238), attributes: [.bold])
    public static let selectedDim = Style(foreground: .default, background: .palette(238))
    public static let dim = Style(attributes: [.dim])
    public static let label = Style(foreground: .palette(110))
    public static let section = Style(foreground: .palette(179), attributes: [.bold])
    public static let error = Style(foreground: .palette(196), attributes: [.bold])
    public static let warning = Style(foreground: .palette(214), attributes: [.bold])
    public static let statusBar = Style(foreground: .palette(252), background: .palette(236))
    public static let hintKey = Style(foreground: .palette(229), background: .palette(236), attributes: [.bold])
    public static let hintText = Style(foreground: .palette(250), background: .palette(236))
    public static let paneTitle = Style(foreground: .palette(255), background: .palette(238), attributes: [.bold])
    public static let paneTitleFocused = Style(foreground: .palette(255), background: .palette(24), attributes: [.bold])
    public static let axis = Style(foreground: .palette(245))
    public static let progressDone = Style(foreground: .palette(114), background: .palette(236))
    public static let helpBox = Style(foreground: .palette(252), background: .palette(235))
    public static let helpKey = Style(foreground: .palette(229), background: .palette(235), attributes: [.bold])
    public static let helpTitle = Style(foreground: .palette(179), background: .palette(235), attributes: [.bold])

    public static let findMatch = Style(foreground: .palette(16), background: .palette(221), attributes: [.bold, .underline])
    public static let findMatchSelected = Style(foreground: .palette(221), background: .palette(238), attributes: [.bold, .underline])
    public static let queryText = Style(foreground: .palette(255), background: .palette(236))
    public static let queryPrompt = Style(foreground: .palette(229), background: .palette(236), attributes: [.bold])

    /// Compare: paths only in A / only in B (also marked `A` / `B`), and
    /// differences that make B slower / faster (also signed).
    public static let compareOnlyA = Style(foreground: .palette(141), attributes: [.bold])
    public static let compareOnlyB = Style(foreground: .palette(81), attributes: [.bold])
    public static let slower = Style(foreground: .palette(203))
    public static let faster = Style(foreground: .palette(114))
    /// The critical-path column and the trace's figure.
    public static let criticalPath = Style(foreground: .palette(203), attributes: [.bold])
    /// A span moved to undo clock skew.
    public static let shifted = Style(foreground: .palette(180), attributes: [.bold])

    /// Distinct, not red (red means error), readable on dark and light.
    static let servicePalette: [UInt8] = [39, 214, 114, 170, 81, 221, 141, 209, 49, 147, 180, 44]

    /// A service's colour: a stable hash of its name, so server-2 has the same
    /// colour in every trace and every run.
    public static func serviceColor(_ service: String) -> Color {
        var hash: UInt32 = 2_166_136_261
        for byte in service.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return .palette(servicePalette[Int(hash % UInt32(servicePalette.count))])
    }

    /// `style` drawn on a row: on the selected row it keeps its colour but
    /// takes the selection's background (and is never dim).
    public static func onRow(_ style: Style, selected: Bool) -> Style {
        guard selected else { return style }
        return Style(foreground: style.foreground == .default ? Theme.selected.foreground : style.foreground,
                     background: Theme.selected.background,
                     attributes: Theme.selected.attributes.union(style.attributes.subtracting(.dim)))
    }

    public static func service(_ service: String) -> Style {
        Style(foreground: serviceColor(service))
    }
}
