internal import CMariaDB
import StrataSQL

/// Conversions between ``SQLTimestamp`` and libmariadb's `MYSQL_TIME`, in UTC.
enum MySQLTime {
    private static let microsPerDay: Int64 = 86_400_000_000

    /// A `MYSQL_TIME` of type DATETIME for an instant.
    ///
    /// - Throws: ``DatabaseError`` for a year outside 0…9999, which `DATETIME` cannot hold.
    static func mysqlTime(_ t: SQLTimestamp) throws -> MYSQL_TIME {
        var days = t.microsecondsSinceEpoch / microsPerDay
        var micros = t.microsecondsSinceEpoch % microsPerDay
        if micros < 0 { days -= 1; micros += microsPerDay }
        let (y, m, d) = civil(fromDays: days)
        guard (0...9999).contains(y) else {
            throw DatabaseError(.other, message: "timestamp \(t) is outside the years 0-9999 that MySQL DATETIME holds")
        }
        let seconds = micros / 1_000_000
        var time = MYSQL_TIME()
        time.year = UInt32(y)
        time.month = UInt32(m)
        time.day = UInt32(d)
        time.hour = UInt32(seconds / 3600)
        time.minute = UInt32((seconds / 60) % 60)
        time.second = UInt32(seconds % 60)
        time.second_part = UInt(micros % 1_000_000)
        time.neg = 0
        time.time_type = MYSQL_TIMESTAMP_DATETIME
        return time
    }

    /// The instant of a DATE, DATETIME or TIMESTAMP value (taken as UTC), or `nil` for a
    /// zero date, which is no instant.
    static func timestamp(_ time: MYSQL_TIME) -> SQLTimestamp? {
        guard time.month >= 1, time.month <= 12, time.day >= 1 else { return nil }
        let days = days(fromCivil: Int64(time.year), Int64(time.month), Int64(time.day))
        let seconds = days * 86_400 + Int64(time.hour) * 3600 + Int64(time.minute) * 60 + Int64(time.second)
        return SQLTimestamp(microsecondsSinceEpoch: seconds * 1_000_000 + Int64(time.second_part))
    }

    /// The server's text form of a value that is no instant (a zero date or a TIME).
    static func text(_ time: MYSQL_TIME, type: enum_field_types) -> String {
        func pad(_ v: UInt32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let date = "\(pad(time.year, 4))-\(pad(time.month, 2))-\(pad(time.day, 2))"
        if type == MYSQL_TYPE_DATE || type == MYSQL_TYPE_NEWDATE { return date }
        var clock = "\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2))"
        if time.second_part > 0 { clock += "." + pad(UInt32(time.second_part), 6) }
        if type == MYSQL_TYPE_TIME { return (time.neg != 0 ? "-" : "") + clock }
        return date + " " + clock
    }

    // Howard Hinnant's civil-date algorithms (also in StrataSQL, where they are internal).
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
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
