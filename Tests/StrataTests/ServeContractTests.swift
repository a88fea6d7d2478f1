import Foundation
import Logging
import StrataBilling
import StrataDrivers
import StrataHTTP
import StrataMigrations
import StrataSQL
import Testing

/// The API's contract, `Sources/StrataHTTP/openapi.json`: served verbatim, and in step
/// with the router both ways. `scripts/contract` checks the live answers against it.
@Suite("strata serve contract", .serialized)
struct ServeContractTests {
    static let httpMethods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// The committed document, parsed.
    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any])
    }

    /// `METHOD /path` of every operation of the document, paths as OpenAPI writes them (`{id}`).
    static func documentedOperations(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: Set<String> = []
        for (path, item) in paths {
            for method in httpMethods where item[method] != nil {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test(arguments: Backend.allCases)
    func theDocumentIsServedVerbatimAtOpenAPIJSON(_ backend: Backend) async throws {
        try await withServer(backend) { http, _, _ in
            let answer = try await http.get("/openapi.json")
            #expect(answer.status == 200)
            #expect(answer.header("Content-Type")?.hasPrefix("application/json") == true, "\(answer.headers)")
            #expect(answer.header("X-Request-Id")?.isEmpty == false)
            #expect([UInt8](answer.body) == OpenAPIDocument.bytes, "the served document differs from the embedded one")
            let served = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
            let version = try #require(served["openapi"] as? String)
            #expect(version.hasPrefix("3.1."), "openapi: \(version)")
            // Public: a token is not needed, and a bad one does not matter.
            #expect(try await http.get("/openapi.json", token: "not-a-jwt").status == 200)
        }
    }

    @Test
    func theEmbeddedDocumentIsTheCommittedFile() throws {
        let file = try Data(contentsOf: projectRoot.appendingPathComponent("Sources/StrataHTTP/openapi.json"))
        #expect([UInt8](file) == OpenAPIDocument.bytes)
    }

    /// Every route of the router is an operation of the document and every operation a
    /// route of the router: a route added, removed or renamed on one side only fails here.
    @Test
    func theRoutersRoutesAreTheDocumentsOperations() async throws {
        // Nothing connects: the router is built, not served.
        let database = Database(url: try DatabaseURL("postgres://drift@127.0.0.1:1/none"), maxConnections: 1,
                                logger: TestLog.logger)
        let migrations = try MigrationLoader.load(directory: projectRoot.appendingPathComponent("migrations"),
                                                  dialect: .postgres)
        let api = BillingAPI(
            database: database, clock: SystemClock(), webhookSecret: "unused",
            authenticator: try await BearerAuthenticator(key: .hmacSecret("unused-secret-for-the-route-list")),
            readiness: ReadinessCheck(database: database, migrations: migrations, secretsConfigured: true,
                                      logger: TestLog.logger),
            metrics: ServeMetrics(), logger: TestLog.logger)
        let routed = Set(api.router().routes.map { "\($0.method.rawValue) \($0.path)" })
        let documented = try Self.documentedOperations(try Self.document())

        #expect(routed.count >= 20, "\(routed.sorted())")
        #expect(routed.subtracting(documented).isEmpty,
                "routes the document lacks: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty,
                "operations no route serves: \(documented.subtracting(routed).sorted())")
        await database.close()
    }

    /// Found by schemathesis: a NUL character (which PostgreSQL's text cannot hold) in a
    /// grant's reason was a 500, and a customer id of 191 characters made of 382 code
    /// points (the columns count code points) passed the length check. Both are refused
    /// with `400 INVALID_REQUEST` now, the same on both backends, and nothing is stored.
    @Test(arguments: Backend.allCases)
    func textTheDatabasesCannotHoldIsA400NeverA500(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let admin = TestJWT.admin()
            let alice = TestJWT.customer("alice")
            let decomposed = String(repeating: "e\u{0301}", count: 191)   // 191 characters, 382 code points
            #expect(decomposed.count == 191 && decomposed.unicodeScalars.count == 382)
            let refused: [(String, String, [String: Any], String)] = [
                ("grant reason with NUL", "/billing/admin/grant", ["customer": "alice", "credits": 10, "reason": "a\u{0}b"], admin),
                ("grant customer with NUL", "/billing/admin/grant", ["customer": "al\u{0}ice", "credits": 10, "reason": "r"], admin),
                ("grant customer of 382 code points", "/billing/admin/grant", ["customer": decomposed, "credits": 10, "reason": "r"], admin),
                ("refund reason with NUL", "/billing/admin/refunds", ["transaction_id": 1, "reason": "\u{0}"], admin),
                ("charge run id with NUL", "/billing/charges", ["agent": "code_reviewer", "run_id": "run\u{0}1"], alice),
                ("charge agent with NUL", "/billing/charges", ["agent": "code\u{0}reviewer", "run_id": "run-1"], alice),
            ]
            for (name, path, body, token) in refused {
                let answer = try await http.post(path, token: token, json: body)
                #expect(answer.status == 400 && answer.json["error_code"] as? String == "INVALID_REQUEST",
                        "\(name): \(answer.status) \(answer.text)")
            }
            for query in ["subject=a%00b", "subject_type=wal%00let"] {
                let answer = try await http.get("/billing/admin/audit?\(query)", token: admin)
                #expect(answer.status == 400 && answer.json["error_code"] as? String == "INVALID_REQUEST",
                        "audit \(query): \(answer.status) \(answer.text)")
            }
            let rows: Int64 = try await db.withConnection { conn in
                try conn.queryFirst("SELECT COUNT(*) AS n FROM credit_transactions")?.decode("n") ?? -1
            }
            #expect(rows == 0)
        }
    }

    /// Found by schemathesis: usage past the largest 64-bit integer was the database's
    /// out-of-range error, a 500. It is `422 BILLING_USAGE_OVERFLOW` now, counting nothing.
    @Test(arguments: Backend.allCases)
    func usagePastInt64MaxIsA422NeverA500(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            try await SubscriptionService(database: db, clock: SystemClock(), logger: TestLog.logger)
                .subscribe(customer: "hana", planCode: "free", context: .system)
            let hana = TestJWT.customer("hana")
            let first = try await http.post("/billing/usage", token: hana, json: ["quantity": Int64.max - 1])
            #expect(first.status == 200 && first.json["used"] as? Int64 == Int64.max - 1, "\(first.text)")
            let past = try await http.post("/billing/usage", token: hana, json: ["quantity": 2])
            #expect(past.status == 422 && past.json["error_code"] as? String == "BILLING_USAGE_OVERFLOW", "\(past.text)")
            let exactly = try await http.post("/billing/usage", token: hana, json: ["quantity": 1])
            #expect(exactly.status == 200 && exactly.json["used"] as? Int64 == Int64.max, "\(exactly.text)")
            let usage = try await http.get("/billing/usage", token: hana)
            #expect(usage.status == 200 && usage.json["used"] as? Int64 == Int64.max, "\(usage.text)")
        }
    }

    /// The envelope's promises, in the document: every answer of every operation names
    /// `X-Request-Id`, and every 4xx and 5xx is the one error document.
    @Test
    func everyResponseHasTheRequestIDAndEveryErrorTheErrorShape() throws {
        let document = try Self.document()
        let components = try #require(document["components"] as? [String: Any])
        let sharedResponses = try #require(components["responses"] as? [String: [String: Any]])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let errorSchemas: Set<String> = ["#/components/schemas/Error", "#/components/schemas/InsufficientCreditsError"]
        var checked = 0
        for (path, item) in paths {
            for method in Self.httpMethods {
                guard let operation = item[method] as? [String: Any] else { continue }
                let responses = try #require(operation["responses"] as? [String: [String: Any]], "\(method) \(path)")
                for (status, declared) in responses {
                    var response = declared
                    if let ref = declared["$ref"] as? String {
                        response = try #require(sharedResponses[String(ref.split(separator: "/").last!)], "\(ref)")
                    }
                    let headers = response["headers"] as? [String: Any] ?? [:]
                    #expect(headers["X-Request-Id"] != nil, "\(method) \(path) \(status) lacks X-Request-Id")
                    guard let code = Int(status), code >= 400 else { continue }
                    let content = response["content"] as? [String: [String: Any]] ?? [:]
                    let schema = content["application/json"]?["schema"] as? [String: Any]
                    #expect((schema?["$ref"] as? String).map(errorSchemas.contains) == true,
                            "\(method) \(path) \(status) is not the error document")
                    checked += 1
                }
            }
        }
        #expect(checked > 50)
    }
}
