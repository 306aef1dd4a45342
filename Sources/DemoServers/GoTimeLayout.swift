import Foundation

/// Go's `time.ANSIC` layout, `Mon Jan _2 15:04:05 2006`, which the seed's
/// server-1 answers with: English day and month abbreviations, the day of
/// the month padded with a space (`_2`), 24-hour clock.
public enum GoTimeLayout {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `date` in `timeZone` (the local zone unless told), e.g. `Mon Jan  2 15:04:05 2006`.
    public static func ansic(_ date: Date, timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute, .second], from: date)
        let weekday = weekdays[((c.weekday ?? 1) - 1) % 7]
        let month = months[((c.month ?? 1) - 1) % 12]
        let day = c.day ?? 1
        return "\(weekday) \(month) \(day < 10 ? " " : "")\(day) "
            + "\(twoDigits(c.hour ?? 0)):\(twoDigits(c.minute ?? 0)):\(twoDigits(c.second ?? 0)) \(c.year ?? 1970)"
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
