import Foundation

/// A UTC instant with microsecond precision, the resolution both backends store.
///
/// `Date` is a `Double` of seconds and loses microseconds far from 2001; this keeps an
/// exact count of microseconds since 1970-01-01T00:00:00Z.
///
/// ```swift
/// let t = SQLTimestamp(microsecondsSinceEpoch: 1_700_000_000_123_456)
/// t.description   // "2023-11-14 22:13:20.123456"
/// ```
public struct SQLTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// The instant of a `Date`, rounded to the nearest microsecond.
    public init(_ date: Date) {
        microsecondsSinceEpoch = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public var date: Date {
        Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000)
    }

    public static func < (a: SQLTimestamp, b: SQLTimestamp) -> Bool {
        a.microsecondsSinceEpoch < b.microsecondsSinceEpoch
    }

    public func adding(seconds: Double) -> SQLTimestamp {
        SQLTimestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + Int64((seconds * 1_000_000).rounded()))
    }

    public func adding(microseconds: Int64) -> SQLTimestamp {
        SQLTimestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + microseconds)
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC: what both servers accept for their timestamp types.
    public var description: String {
        let (days, micros) = microsecondsSinceEpoch.floorDivided(by: 86_400_000_000)
        let (y, m, d) = Self.civil(fromDays: days)
        return Self.format(year: y, month: m, day: d, micros: micros, separator: UInt8(ascii: " "), zone: "")
    }

    /// ISO 8601 with a `Z`, for JSON output.
    public var iso8601: String {
        let (days, micros) = microsecondsSinceEpoch.floorDivided(by: 86_400_000_000)
        let (y, m, d) = Self.civil(fromDays: days)
        return Self.format(year: y, month: m, day: d, micros: micros, separator: UInt8(ascii: "T"), zone: "Z")
    }

    /// `YYYY-MM-DD?HH:MM:SS.ffffff` plus the zone, digit by digit: `String(format:)`
    /// costs microseconds a call, which shows when a status lists a thousand rows.
    private static func format(year: Int64, month: Int64, day: Int64, micros: Int64,
                               separator: UInt8, zone: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(28)
        func digits(_ value: Int64, _ width: Int) {
            var v = value
            if v < 0 {
                bytes.append(UInt8(ascii: "-"))
                v = -v
            }
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor * 10 <= v { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(48 + (v / divisor) % 10))
                divisor /= 10
            }
        }
        let secondsOfDay = micros / 1_000_000
        digits(year, 4); bytes.append(UInt8(ascii: "-"))
        digits(month, 2); bytes.append(UInt8(ascii: "-"))
        digits(day, 2); bytes.append(separator)
        digits(secondsOfDay / 3600, 2); bytes.append(UInt8(ascii: ":"))
        digits((secondsOfDay / 60) % 60, 2); bytes.append(UInt8(ascii: ":"))
        digits(secondsOfDay % 60, 2); bytes.append(UInt8(ascii: "."))
        digits(micros % 1_000_000, 6)
        bytes.append(contentsOf: zone.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses the text forms both servers return: `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM]]`
    /// (also with a `T` separator or a `Z`). Without an offset the text is taken as UTC.
    public init?(parsing text: String) {
        let u = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= u.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                let c = u[i]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard u.count >= 10, let y = number(0, 4), u[4] == 45, let mo = number(5, 2), u[7] == 45,
              let d = number(8, 2) else { return nil }
        var h: Int64 = 0, mi: Int64 = 0, s: Int64 = 0, frac: Int64 = 0
        var i = 10
        if i < u.count && (u[i] == 32 || u[i] == 84) {
            guard let hh = number(i + 1, 2), u.count > i + 3, u[i + 3] == 58, let mm = number(i + 4, 2),
                  u.count > i + 6, u[i + 6] == 58, let ss = number(i + 7, 2) else { return nil }
            h = hh; mi = mm; s = ss
            i += 9
            if i < u.count && u[i] == 46 {
                i += 1
                var digits = 0
                while i < u.count, u[i] >= 48, u[i] <= 57 {
                    if digits < 6 { frac = frac * 10 + Int64(u[i] - 48) }
                    digits += 1
                    i += 1
                }
                while digits < 6 { frac *= 10; digits += 1 }
            }
        }
        var offsetSeconds: Int64 = 0
        if i < u.count {
            if u[i] == 90 { // Z
                i += 1
            } else if u[i] == 43 || u[i] == 45 {
                let sign: Int64 = u[i] == 45 ? -1 : 1
                guard let oh = number(i + 1, 2) else { return nil }
                var om: Int64 = 0
                i += 3
                if i < u.count && u[i] == 58 { i += 1 }
                if let m = number(i, 2) { om = m; i += 2 }
                offsetSeconds = sign * (oh * 3600 + om * 60)
            }
        }
        guard i == u.count, (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        let days = Self.days(fromCivil: y, mo, d)
        let seconds = days * 86_400 + h * 3600 + mi * 60 + s - offsetSeconds
        microsecondsSinceEpoch = seconds * 1_000_000 + frac
    }

    /// The days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm, exact).
    ///
    /// Package-wide so that the MySQL driver converts its `MYSQL_TIME` with the same arithmetic.
    package static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian year, month and day of a count of days since 1970-01-01.
    package static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, with a non-negative remainder.
    package func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        var q = self / divisor
        var r = self % divisor
        if r < 0 { q -= 1; r += divisor }
        return (q, r)
    }
}

/// Decodes from any text ``init(parsing:)`` accepts (``iso8601`` included), so a model
/// with timestamp properties can be `Decodable`; ``Row/decode(_:)`` reads a timestamp
/// column through ``SQLValueConvertible`` instead, as ``Row/decode(_:as:)`` does.
extension SQLTimestamp: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let timestamp = SQLTimestamp(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a timestamp"))
        }
        self = timestamp
    }
}
