import JWTKit

/// The claims of an access token: who (`sub`), until when (`exp`, required), from when
/// (`nbf`, optional) and the admin role.
///
/// The role is `"role": "admin"` or `"roles": [..., "admin", ...]`, the two shapes
/// identity providers use; either opens the admin routes.
struct AccessClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var nbf: NotBeforeClaim?
    var role: String?
    var roles: [String]?

    var isAdmin: Bool { role == "admin" || (roles ?? []).contains("admin") }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf?.verifyNotBefore()
    }
}
