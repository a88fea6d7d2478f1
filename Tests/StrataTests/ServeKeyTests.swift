import _CryptoExtras
import Crypto
import Foundation
import Testing

/// `strata serve` with a public key instead of a shared secret: ES256 for a P-256 key,
/// RS256 for an RSA key, and nothing else, HS256 "signed" with the public key included.
@Suite("strata serve public keys")
struct ServeKeyTests {
    enum Algorithm: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case es256 = "ES256"
        case rs256 = "RS256"
        var testDescription: String { rawValue }
    }

    /// A key pair of the algorithm: its public PEM and a signer of JWS signing inputs.
    struct Signer: Sendable {
        var publicPEM: String
        var sign: @Sendable (Data) throws -> Data

        init(_ algorithm: Algorithm) throws {
            switch algorithm {
            case .es256:
                let key = P256.Signing.PrivateKey()
                publicPEM = key.publicKey.pemRepresentation
                sign = { try key.signature(for: $0).rawRepresentation }
            case .rs256:
                let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
                publicPEM = key.publicKey.pemRepresentation
                sign = { try key.signature(for: $0, padding: .insecurePKCS1v1_5).rawRepresentation }
            }
        }

        func token(_ claims: [String: Any], alg: String) throws -> String {
            var claims = claims
            if claims["exp"] == nil { claims["exp"] = Int(Date().timeIntervalSince1970) + 3600 }
            let input = TestJWT.segment(["alg": alg, "typ": "JWT"]) + "." + TestJWT.segment(claims)
            return input + "." + TestJWT.base64URL(try sign(Data(input.utf8)))
        }
    }

    @Test(arguments: Algorithm.allCases)
    func onlyTokensOfThePublicKeysAlgorithmAndKeyAreAccepted(_ algorithm: Algorithm) async throws {
        let signer = try Signer(algorithm)
        let stranger = try Signer(algorithm)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-jwt-\(UUID().uuidString).pem")
        try signer.publicPEM.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        try await withFreshServerDatabase(.postgres) { _, rawURL in
            let server = try await ServeProcess(databaseURL: rawURL, environment: [
                "STRATA_JWT_SECRET": "", "STRATA_JWT_PUBLIC_KEY_FILE": file.path])
            let http = HTTPClient(baseURL: server.baseURL)
            let good = try await http.get("/billing/wallet", token: try signer.token(["sub": "erin"], alg: algorithm.rawValue))
            #expect(good.status == 200 && good.json["customer"] as? String == "erin", "\(good.text)")
            let admin = try await http.post("/billing/admin/grant", token: try signer.token(["sub": "ops", "role": "admin"], alg: algorithm.rawValue),
                                            json: ["customer": "erin", "credits": 10, "reason": "public key admin"])
            #expect(admin.status == 200 && admin.json["new_balance"] as? Int == 10)
            let refused: [(String, String)] = [
                ("another key", try stranger.token(["sub": "erin"], alg: algorithm.rawValue)),
                ("HS256 keyed with the public key", TestJWT.make(["sub": "erin"], secret: signer.publicPEM)),
                ("HS256 with a shared secret", TestJWT.customer("erin")),
                ("the other asymmetric alg", try signer.token(["sub": "erin"], alg: algorithm == .es256 ? "RS256" : "ES256")),
                ("expired", try signer.token(["sub": "erin", "exp": Int(Date().timeIntervalSince1970) - 60], alg: algorithm.rawValue)),
            ]
            for (name, token) in refused {
                let r = try await http.get("/billing/wallet", token: token)
                #expect(r.status == 401 && r.json["error_code"] as? String == "UNAUTHORIZED", "\(name): \(r.status) \(r.text)")
            }
            let (status, stderr) = try await server.stop()
            #expect(status == 0, "\(stderr.suffix(10))")
        }
    }

    @Test func aKeyFileIsExclusiveAndMustHoldAUsableKey() async throws {
        let url = try Backend.postgres.rawURL(database: "strata_test")
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("strata-jwt-\(UUID().uuidString).pem")
        try "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".write(to: garbage, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: garbage) }
        let base = ["DATABASE_URL": url, "STRATA_WEBHOOK_SECRET": ServeProcess.webhookSecret]
        let migrations = ["--migrations", projectRoot.appendingPathComponent("migrations").path]
        let both = try await StrataCLI.run(["serve", "--port", "0"] + migrations, environment: base.merging(
            ["STRATA_JWT_SECRET": ServeProcess.jwtSecret, "STRATA_JWT_PUBLIC_KEY_FILE": garbage.path]) { $1 })
        #expect(both.status == 64 && both.stderr.contains("not both"), "\(both.stderr)")
        let unusable = try await StrataCLI.run(["serve", "--port", "0"] + migrations, environment: base.merging(
            ["STRATA_JWT_SECRET": "", "STRATA_JWT_PUBLIC_KEY_FILE": garbage.path]) { $1 })
        #expect(unusable.status == 64 && unusable.stderr.contains("neither a P-256 nor an RSA"), "\(unusable.stderr)")
        let missing = try await StrataCLI.run(["serve", "--port", "0"] + migrations, environment: base.merging(
            ["STRATA_JWT_SECRET": "", "STRATA_JWT_PUBLIC_KEY_FILE": "/nonexistent/key.pem"]) { $1 })
        #expect(missing.status == 64 && missing.stderr.contains("cannot read /nonexistent/key.pem"), "\(missing.stderr)")
        #expect(!both.stdout.contains("listening") && !unusable.stdout.contains("listening"))
    }
}
