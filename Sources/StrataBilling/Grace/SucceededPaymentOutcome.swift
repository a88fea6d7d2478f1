/// What recording a successful payment did: the grace period it resolved, and whether
/// the subscription became active again.
struct SucceededPaymentOutcome: Sendable {
    /// The period resolved, or `nil` when none was open.
    var resolved: GracePeriod?
    /// Whether a `past_due` or `restricted` subscription was made `active`.
    var reactivated: Bool
}
