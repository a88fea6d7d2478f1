/// The key access tokens are verified with, which fixes the one algorithm accepted.
///
/// A shared secret means HS256. A public key (PEM, from `STRATA_JWT_PUBLIC_KEY_FILE`)
/// means ES256 for a P-256 key and RS256 for an RSA key of at least 2048 bits: the
/// identity provider keeps the private key, and Strata can verify tokens but never mint
/// them.
///
/// ```swift
/// let key = TokenKey.publicKeyPEM(try String(contentsOfFile: path, encoding: .utf8))
/// let auth = try await BearerAuthenticator(key: key)
/// ```
public enum TokenKey: Sendable {
    case hmacSecret(String)
    case publicKeyPEM(String)
}
