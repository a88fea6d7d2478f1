internal import CMariaDB
import StrataSQL

/// Conversions between ``SQLTimestamp`` and libmariadb's `MYSQL_TIME`, in UTC.
enum MySQLTime {
    private static let microsPerDay: Int64 = 86_400_000_000

    /// A `MYSQL_TIME` of type DATETIME for an instant.
    ///
    /// - Throws: ``DatabaseError`` for a year outside 0…9999, which `DATETIME` cannot hold.
    static func mysqlTime(_ t: SQLTimestamp) throws -> MYSQL_TIME {
        let (days, micros) = t.microsecondsSinceEpoch.floorDivided(by: microsPerDay)
        let (y, m, d) = SQLTimestamp.civil(fromDays: days)
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
        let days = SQLTimestamp.days(fromCivil: Int64(time.year), Int64(time.month), Int64(time.day))
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
}
