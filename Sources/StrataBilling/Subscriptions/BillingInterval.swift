import Foundation
import StrataSQL

/// How often a plan bills: the length of a subscription's period.
///
/// Periods are counted in calendar months or years in UTC from one anchor (the
/// subscription's start), never chained from the previous period's end, so a
/// subscription started on 31 January runs to 28 February (29 in a leap year), then
/// to 31 March, and never drifts to the 28th.
///
/// ```swift
/// let start = SQLTimestamp(parsing: "2026-01-31 10:00:00")!
/// BillingInterval.month.advance(start, by: 1)   // 2026-02-28 10:00:00
/// BillingInterval.month.advance(start, by: 2)   // 2026-03-31 10:00:00
/// ```
public enum BillingInterval: String, Sendable, Hashable, CaseIterable, Decodable {
    case month
    case year

    /// `anchor` moved forward by `count` whole intervals, in UTC, keeping its
    /// microseconds; a day the target month lacks becomes the month's last day.
    public func advance(_ anchor: SQLTimestamp, by count: Int) -> SQLTimestamp {
        let (seconds, micros) = Self.split(anchor)
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        let component: Calendar.Component = self == .month ? .month : .year
        guard let moved = Self.calendar.date(byAdding: component, value: count, to: date) else {
            preconditionFailure("a Gregorian UTC calendar adds whole months and years to any date")
        }
        return SQLTimestamp(microsecondsSinceEpoch: Int64(moved.timeIntervalSince1970.rounded()) * 1_000_000 + micros)
    }

    /// The period that contains `time`, counting whole intervals from `anchor`.
    ///
    /// A `time` before the anchor gets the first period.
    /// - Returns: the period's start (inclusive) and end (exclusive).
    public func period(containing time: SQLTimestamp, anchor: SQLTimestamp) -> (start: SQLTimestamp, end: SQLTimestamp) {
        // A first guess from an interval's usual length, then whole steps to the exact
        // count: a step or two, whatever the distance.
        let usual: Int64 = self == .month ? 30 * 86_400_000_000 : 365 * 86_400_000_000
        let elapsed = time.microsecondsSinceEpoch - anchor.microsecondsSinceEpoch
        var count = elapsed <= 0 ? 0 : Int(elapsed / usual)
        while count > 0 && advance(anchor, by: count) > time { count -= 1 }
        while advance(anchor, by: count + 1) <= time { count += 1 }
        return (advance(anchor, by: count), advance(anchor, by: count + 1))
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0)!
        return calendar
    }()

    /// Whole seconds (rounded down) and the microseconds past them.
    private static func split(_ t: SQLTimestamp) -> (Int64, Int64) {
        var seconds = t.microsecondsSinceEpoch / 1_000_000
        var micros = t.microsecondsSinceEpoch % 1_000_000
        if micros < 0 { seconds -= 1; micros += 1_000_000 }
        return (seconds, micros)
    }
}
