/// Where a grace period stands: `open` until a payment resolves it or the sweep expires it.
///
/// ```swift
/// if period.state == .open { … }
/// ```
public enum GracePeriodState: String, Sendable, Hashable, CaseIterable, Decodable {
    case open
    case resolved
    case expired
}
