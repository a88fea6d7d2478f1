/// When a failed webhook event is tried again, and when it is given up.
///
/// The standard policy waits 1 s, 10 s, 1 min, 10 min and 1 h after the first five
/// failures, each stretched or shrunk by up to ±10 % so that events that failed together
/// do not all come back together; the sixth failure makes the event dead. The random
/// source is injected, so tests can pin the jitter.
///
/// ```swift
/// let policy = WebhookRetryPolicy.standard
/// policy.delay(afterFailedAttempt: 2, random: 0.5)   // 10.0
/// policy.delay(afterFailedAttempt: 6, random: 0.5)   // nil: dead
/// ```
public struct WebhookRetryPolicy: Sendable, Hashable {
    /// Seconds to wait after the first, second, … failure.
    public var schedule: [Double]
    /// The largest share of a delay added or taken away at random (0.1 = ±10 %).
    public var jitter: Double

    /// - Parameters:
    ///   - schedule: the waits between attempts; there are `schedule.count + 1` attempts in all.
    ///   - jitter: the largest share of each wait added or taken away at random.
    public init(schedule: [Double], jitter: Double) {
        precondition(schedule.allSatisfy { $0 >= 0 }, "retry delays are not negative")
        precondition((0..<1).contains(jitter), "jitter is a share below 1")
        self.schedule = schedule
        self.jitter = jitter
    }

    /// 1 s, 10 s, 1 min, 10 min, 1 h, ±10 %: 6 attempts in all.
    public static let standard = WebhookRetryPolicy(schedule: [1, 10, 60, 600, 3600], jitter: 0.1)

    /// Attempts before an event is dead.
    public var maxAttempts: Int { schedule.count + 1 }

    /// Seconds to wait after failed attempt number `attempt` (1-based, counted since the
    /// event was received or replayed), or `nil` when that was the last one.
    ///
    /// - Parameter random: a value in `0..<1`; 0.5 gives the scheduled delay exactly,
    ///   0 the shortest (−jitter) and values near 1 the longest (+jitter).
    public func delay(afterFailedAttempt attempt: Int, random: Double) -> Double? {
        guard attempt >= 1, attempt <= schedule.count else { return nil }
        let r = min(max(random, 0), 1)
        return schedule[attempt - 1] * (1 + jitter * (2 * r - 1))
    }
}
