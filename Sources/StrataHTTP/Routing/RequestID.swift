import Foundation
import Synchronization

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

    /// `req-` and 16 hex digits that look random: a counter from a random start, through
    /// SplitMix64's finalizer (a bijection), so no two ids of one process are alike and
    /// two processes' ids collide only by chance. Not a secret: it only traces a request.
    static func make() -> String {
        // Not the system generator each time: its getrandom(2) call was 0.5% of a charge's
        // CPU in strata serve; nor String(format:): Foundation's formatter was 1.5%.
        var z = start &+ issued.add(1, ordering: .relaxed).newValue &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        let hex = String(z ^ (z >> 31), radix: 16)
        return "req-" + String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    private static let start = UInt64.random(in: 0...UInt64.max)
    private static let issued = Atomic<UInt64>(0)
}
