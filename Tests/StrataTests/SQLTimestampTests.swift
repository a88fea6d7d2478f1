import Foundation
import StrataSQL
import Testing

@Suite("SQLTimestamp text forms")
struct SQLTimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01 00:00:00.000000"),
        (1_700_000_000_123_456, "2023-11-14 22:13:20.123456"),
        (-1, "1969-12-31 23:59:59.999999"),
        (-62_135_596_800_000_000, "0001-01-01 00:00:00.000000"),
        (253_402_300_799_999_999, "9999-12-31 23:59:59.999999"),
        (951_782_400_000_001, "2000-02-29 00:00:00.000001"),
    ])
    func descriptionAndISO8601(micros: Int64, text: String) {
        let t = SQLTimestamp(microsecondsSinceEpoch: micros)
        #expect(t.description == text)
        #expect(t.iso8601 == text.replacingOccurrences(of: " ", with: "T") + "Z")
        #expect(SQLTimestamp(parsing: t.description) == t)
        #expect(SQLTimestamp(parsing: t.iso8601) == t)
    }

    @Test func formattingAgreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        for _ in 0..<2_000 {
            let seconds = Int64.random(in: 0...4_102_444_800, using: &generator)
            let t = SQLTimestamp(microsecondsSinceEpoch: seconds * 1_000_000 + 7)
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(seconds))) + ".000007"
            #expect(t.description == expected)
        }
    }
}
