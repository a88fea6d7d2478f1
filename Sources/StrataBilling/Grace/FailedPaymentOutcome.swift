/// What recording a failed payment did: the grace period it opened, or the one that
/// already covered the subscription.
struct FailedPaymentOutcome: Sendable {
    /// The open period (new or existing), or the latest period of a restricted subscription.
    var period: GracePeriod
    /// Whether this call opened `period`.
    var opened: Bool
}
