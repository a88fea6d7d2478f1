import HTTPTypes
import Hummingbird

/// The `Idempotency-Key` request header of the POSTs that move credits, and the
/// `Idempotent-Replayed` header of a replayed answer.
///
/// The key goes to the wallet's ``StrataBilling/IdempotencyStore`` scope (the caller's
/// wallet), so the same key with the same body replays the first answer, with another
/// body is `422 IDEMPOTENCY_KEY_REUSED`, and while the first request still runs is
/// `409 IDEMPOTENCY_KEY_IN_PROGRESS`. A key is 1 to 191 visible ASCII characters (the
/// column's size); anything else is `400 INVALID_IDEMPOTENCY_KEY`, never truncated.
enum IdempotencyKeyHeader {
    static let field = HTTPField.Name("Idempotency-Key")!
    static let replayedField = HTTPField.Name("Idempotent-Replayed")!
    static let maxLength = 191

    /// The request's key, or `nil` when it sent none.
    static func key(of request: Request) throws -> String? {
        guard let key = request.headers[field] else { return nil }
        guard !key.isEmpty, key.utf8.count <= maxLength,
              key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError.badRequest("INVALID_IDEMPOTENCY_KEY",
                                      "Idempotency-Key must be 1 to \(maxLength) visible ASCII characters")
        }
        return key
    }

    /// The headers of an answer: `Idempotent-Replayed: true` for a replay.
    static func headers(replayed: Bool) -> HTTPFields {
        replayed ? [replayedField: "true"] : [:]
    }
}
