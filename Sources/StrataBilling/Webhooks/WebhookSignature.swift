import Crypto
import Foundation
import StrataSQL

/// Verifies and makes Stripe-style webhook signatures: `t=<unix seconds>,v1=<hex>`.
///
/// The signature is HMAC-SHA256, keyed with the endpoint secret's UTF-8 bytes, over
/// `"<t>.<payload>"`, so a captured payload cannot be replayed with a fresh timestamp.
/// A header may carry several `v1` values (the provider signs with the old and the new
/// secret while one is rolled); one match is enough. Other schemes (`v0`) are ignored.
/// The timestamp must be within ``tolerance`` seconds of the clock in either direction:
/// an old delivery is a replay, one from the future a wrong clock. Signatures are
/// compared in constant time.
///
/// ```swift
/// let signature = WebhookSignature(secret: "whsec_test")
/// let header = WebhookSignature.sign(payload: body, secret: "whsec_test", at: clock.now())
/// let signedAt = try signature.verify(payload: body, header: header, now: clock.now())
/// ```
public struct WebhookSignature: Sendable, CustomStringConvertible {
    /// Five minutes, as Stripe's libraries use.
    public static let defaultTolerance: Double = 300

    private let secret: [UInt8]
    /// Seconds the signed timestamp may be away from the clock, either way.
    public let tolerance: Double

    /// - Parameters:
    ///   - secret: the endpoint's signing secret (`whsec_…`).
    ///   - tolerance: seconds between the signed time and the clock that are accepted.
    public init(secret: String, tolerance: Double = WebhookSignature.defaultTolerance) {
        self.secret = Array(secret.utf8)
        self.tolerance = tolerance
    }

    /// Never shows the secret.
    public var description: String { "WebhookSignature(tolerance: \(tolerance) s)" }

    /// Checks a signature header against the payload and the clock.
    ///
    /// - Parameters:
    ///   - payload: the request body exactly as received (its UTF-8 bytes are signed).
    ///   - header: the `Stripe-Signature` header.
    ///   - now: the clock's time.
    /// - Returns: the signed timestamp.
    /// - Throws: ``WebhookError/invalidSignature(_:)`` with the reason; always when the
    ///   secret is empty.
    @discardableResult
    public func verify(payload: String, header: String, now: SQLTimestamp) throws(WebhookError) -> SQLTimestamp {
        // An empty key is a key anyone can sign with.
        guard !secret.isEmpty else { throw .invalidSignature("no signing secret is configured") }
        var timestamp: Int64?
        var candidates: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let part = item.trimmingCharacters(in: .whitespaces)
            guard let eq = part.firstIndex(of: "=") else {
                throw .invalidSignature("malformed header item '\(part.prefix(20))'")
            }
            let key = part[..<eq], value = part[part.index(after: eq)...]
            switch key {
            case "t":
                guard timestamp == nil else { throw .invalidSignature("more than one timestamp") }
                guard let t = Int64(value), t >= 0 else { throw .invalidSignature("timestamp is not a number of seconds") }
                timestamp = t
            case "v1":
                // A value that is not 32 bytes of hex can never match; it is skipped, not an error.
                if let bytes = Self.bytes(hex: value), bytes.count == SHA256.byteCount { candidates.append(bytes) }
            default:
                continue
            }
        }
        guard let timestamp else { throw .invalidSignature("no timestamp (t=) in the header") }
        guard !candidates.isEmpty else { throw .invalidSignature("no v1 signature in the header") }
        let skew = Double(now.microsecondsSinceEpoch) / 1_000_000 - Double(timestamp)
        guard abs(skew) <= tolerance else {
            let direction = skew > 0 ? "old" : "in the future"
            throw .invalidSignature("timestamp is \(Int(abs(skew).rounded())) s \(direction) (tolerance \(Int(tolerance)) s)")
        }
        let expected = Self.mac(payload: payload, secret: secret, timestamp: timestamp)
        // Every candidate is compared in full, so the time taken says nothing about which matched.
        var matched = false
        for candidate in candidates where Self.constantTimeEquals(candidate, expected) {
            matched = true
        }
        guard matched else { throw .invalidSignature("no signature matches the payload") }
        return SQLTimestamp(microsecondsSinceEpoch: timestamp * 1_000_000)
    }

    /// The header a provider would send for `payload` signed at `time`: for tests, demos
    /// and `strata webhooks receive --sign`.
    ///
    /// ```swift
    /// WebhookSignature.sign(payload: "{}", secret: "whsec_test", at: now)   // "t=1767225600,v1=5f0e…"
    /// ```
    public static func sign(payload: String, secret: String, at time: SQLTimestamp) -> String {
        let micros = time.microsecondsSinceEpoch
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let mac = mac(payload: payload, secret: Array(secret.utf8), timestamp: seconds)
        return "t=\(seconds),v1=\(mac.lowercaseHex)"
    }

    private static func mac(payload: String, secret: [UInt8], timestamp: Int64) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        return Array(HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).\(payload)".utf8), using: key))
    }

    /// Equal-length byte strings compared without an early exit.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    static func bytes(hex: Substring) -> [UInt8]? {
        let u = Array(hex.utf8)
        guard u.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
