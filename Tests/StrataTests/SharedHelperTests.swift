import Foundation
import StrataSQL
import Testing

/// The package-wide helpers that replaced copies: bytes as hex and a `Duration` in seconds.
@Suite("Shared helpers")
struct SharedHelperTests {
    @Test func bytesAreTwoLowercaseHexDigitsEach() {
        #expect([UInt8]().lowercaseHex == "")
        #expect([0x00, 0x0F, 0xA5, 0xFF, 0x10].lowercaseHex == "000fa5ff10")
    }

    @Test(arguments: [
        (Duration.zero, 0.0), (.milliseconds(1500), 1.5), (.microseconds(20), 0.000_02),
        (.seconds(-2), -2.0), (.seconds(86_400) + .nanoseconds(1), 86_400.000_000_001),
    ])
    func durationInSeconds(_ d: Duration, _ seconds: Double) {
        #expect(d.seconds == seconds, "\(d)")
    }
}
