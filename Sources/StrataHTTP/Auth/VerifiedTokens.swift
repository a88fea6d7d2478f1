import JWTKit
import StrataSQL

/// Tokens whose signature and header ``BearerAuthenticator`` already verified, with
/// their claims, so that a client sending one token on every request pays for the
/// parsing and the HMAC or signature check once.
///
/// Only what does not change is kept: a token's bytes and the key it verified with
/// (one authenticator, one key, for its life) decide its signature and its claims for
/// good. What depends on the time does not: `exp` and `nbf` are checked again on every
/// use, so a kept token expires exactly when it would have without the cache. Tokens
/// that fail are never kept. Bounded: tokens up to ``maxTokenBytes`` only, at most
/// ``capacity`` of them (about 8 MiB); when it is full, the kept ones are dropped and
/// the cache fills again with the tokens in use.
final class VerifiedTokens: Sendable {
    static let capacity = 4_096
    static let maxTokenBytes = 2_048

    struct Entry: Sendable {
        var caller: Caller
        var claims: AccessClaims
    }

    private let entries = StrataMutex([String: Entry]())

    init() {}

    /// The verified entry of `token`, if kept.
    func entry(for token: String) -> Entry? {
        entries.withLock { $0[token] }
    }

    /// Keeps a token that verified.
    func keep(_ token: String, _ entry: Entry) {
        guard token.utf8.count <= Self.maxTokenBytes else { return }
        entries.withLock { kept in
            if kept.count >= Self.capacity { kept.removeAll(keepingCapacity: true) }
            kept[token] = entry
        }
    }
}
