import Crypto
import Foundation
import JWTKit
import StrataBilling

/// Turns an `Authorization: Bearer <JWT>` header into a ``Caller``, or refuses it.
///
/// Tokens are HS256, signed with `STRATA_JWT_SECRET`, or ES256 / RS256 verified with a
/// public key (``TokenKey``). The header's `alg` must be exactly the key's algorithm
/// before the signature is even checked: jwt-kit verifies with the key it holds whatever
/// the header claims, and accepting a header that lies about its algorithm (`none`,
/// `HS512`, or `HS256` "signed" with a public key) is how algorithm-confusion attacks
/// begin. `exp`
/// is required; `nbf` is honoured when present; `sub` must be a customer id the wallets
/// accept (1 to 191 characters). Every refusal is the same `401` with a reason that
/// names the rule broken, never the token. A token that verified is kept
/// (``VerifiedTokens``): its next uses check only `exp` and `nbf`.
///
/// ```swift
/// let auth = try await BearerAuthenticator(key: .hmacSecret(secret))
/// let caller = try await auth.authenticate(request.headers[.authorization])
/// ```
public struct BearerAuthenticator: Sendable {
    /// The only algorithm accepted: `HS256`, `ES256` or `RS256`, from the key.
    public let algorithm: String
    private let keys: JWTKeyCollection
    private let verified = VerifiedTokens()

    /// - Throws: when a PEM holds neither a P-256 public key nor an RSA public key of at
    ///   least 2048 bits (jwt-kit's or swift-crypto's error).
    public init(key: TokenKey) async throws {
        let keys = JWTKeyCollection()
        switch key {
        case .hmacSecret(let secret):
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            algorithm = "HS256"
        case .publicKeyPEM(let pem):
            if let ec = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: ec)
                algorithm = "ES256"
            } else {
                await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256)
                algorithm = "RS256"
            }
        }
        self.keys = keys
    }

    /// The caller a header names.
    ///
    /// - Throws: ``APIError`` `401` for a missing header, another scheme, a malformed,
    ///   unsigned, wrongly signed, expired or not-yet-valid token, or a bad subject.
    public func authenticate(_ header: String?) async throws -> Caller {
        guard let header, !header.isEmpty else {
            throw APIError.unauthorized("missing Authorization: Bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let token = Self.trimmingBlanks(parts[1])
        guard token.utf8.count <= 8192 else { throw APIError.unauthorized("the token is too long") }
        if let entry = verified.entry(for: token) {
            // Signed and well-formed already; the time is checked again on every use.
            try Self.checkTimes(of: entry.claims)
            return entry.caller
        }
        try Self.checkHeader(of: token, algorithm: algorithm)
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch let error as JWTError {
            switch error.errorType {
            case .claimVerificationFailure:
                throw APIError.unauthorized(Self.claimReason(error))
            case .signatureVerificationFailed:
                throw APIError.unauthorized("the token's signature does not verify")
            default:
                throw APIError.unauthorized("the token is malformed")
            }
        } catch {
            throw APIError.unauthorized("the token is malformed")
        }
        let subject = claims.sub.value
        // Code points, as the customer id column counts them; a NUL would be cut off by libpq.
        guard !subject.isEmpty, subject.unicodeScalars.count <= 191, !subject.unicodeScalars.contains("\u{0}") else {
            throw APIError.unauthorized("the token's subject must be 1 to 191 characters, none of them NUL")
        }
        let caller = Caller(subject: subject, isAdmin: claims.isAdmin)
        verified.keep(token, .init(caller: caller, claims: claims))
        return caller
    }

    /// `exp` and `nbf` against the current time: what jwt-kit's verification checks of a
    /// token whose signature was verified earlier, with the same reasons.
    private static func checkTimes(of claims: AccessClaims) throws {
        do {
            try claims.exp.verifyNotExpired()
            try claims.nbf?.verifyNotBefore()
        } catch let error as JWTError {
            throw APIError.unauthorized(claimReason(error))
        }
    }

    /// Refuses a token whose header is not a JSON object with the key's `alg`.
    private static func checkHeader(of token: String, algorithm: String) throws {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, let headerData = base64URLDecode(segments[0]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw APIError.unauthorized("the token is malformed")
        }
        guard let alg = header["alg"] as? String, alg == algorithm else {
            throw APIError.unauthorized("the token's algorithm must be \(algorithm)")
        }
    }

    // The two helpers below work on the bytes: Foundation's `trimmingCharacters` and
    // `replacingOccurrences` bridge through NSString, which cost about 3% of a charge's
    // CPU in strata serve (perf, `scripts/bench http`).

    private static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            default: byte
            }
        }
        while base64.count % 4 != 0 { base64.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(base64))
    }

    /// The text without the spaces and tabs around it (a token holds neither; any other
    /// character left in it makes it malformed).
    private static func trimmingBlanks(_ text: Substring) -> String {
        var text = text
        while let c = text.first, c == " " || c == "\t" { text.removeFirst() }
        while let c = text.last, c == " " || c == "\t" { text.removeLast() }
        return String(text)
    }

    private static func claimReason(_ error: JWTError) -> String {
        switch error.failedClaim {
        case is ExpirationClaim: "the token has expired"
        case is NotBeforeClaim: "the token is not valid yet"
        default: "the token's claims do not verify"
        }
    }
}
