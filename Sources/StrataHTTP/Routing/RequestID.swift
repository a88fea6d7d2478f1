import Foundation

/// The id that follows one request through the response, the log and the audit rows.
///
/// A caller's `X-Request-Id` is kept when it is short and plain (1 to 64 of
/// `A-Z a-z 0-9 - _ . :`), so a gateway's id traces end to end; anything else is
/// replaced, never echoed, since it would land in logs and audit rows verbatim.
enum RequestID {
    static let maxLength = 64

    /// The caller's id when acceptable, else a new one.
    static func take(_ header: String?) -> String {
        if let header, isAcceptable(header) { return header }
        return make()
    }

    static func isAcceptable(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= maxLength else { return false }
        return id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: ":"): true
            default: false
            }
        }
    }

    /// `req-` and 16 random hex digits.
    static func make() -> String {
        // Not String(format:): Foundation's formatter was 1.5% of a charge's CPU in strata serve.
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return "req-" + String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }
}
