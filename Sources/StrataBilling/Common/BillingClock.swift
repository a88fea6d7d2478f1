import Foundation
import StrataSQL

/// Where services read the time: UTC, microseconds. Tests pass a ``ManualClock``.
public protocol BillingClock: Sendable {
    func now() -> SQLTimestamp
}

/// The machine's clock.
public struct SystemClock: BillingClock {
    public init() {}
    public func now() -> SQLTimestamp { SQLTimestamp(Date()) }
}

/// A clock that only moves when told to, for tests of schedules and expiry.
///
/// ```swift
/// let clock = ManualClock(SQLTimestamp(microsecondsSinceEpoch: 1_700_000_000_000_000))
/// clock.advance(seconds: 10)
/// ```
public final class ManualClock: BillingClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: SQLTimestamp

    public init(_ start: SQLTimestamp = SQLTimestamp(microsecondsSinceEpoch: 1_767_225_600_000_000)) {
        current = start
    }

    public func now() -> SQLTimestamp {
        lock.lock(); defer { lock.unlock() }
        return current
    }

    public func advance(seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        current = current.adding(seconds: seconds)
    }

    public func set(_ time: SQLTimestamp) {
        lock.lock(); defer { lock.unlock() }
        current = time
    }
}
