import StrataBilling

/// The largest request bodies the API reads, in bytes; a larger one is answered `413`
/// before it is read whole.
enum BodyLimits {
    /// A JSON request of the API: a few short fields, so 64 KiB is generous.
    static let json = 64 * 1024
    /// A webhook delivery: what the inbox stores (1 MiB), far above any Stripe event.
    static let webhook = WebhookInbox.maxPayloadBytes
}
