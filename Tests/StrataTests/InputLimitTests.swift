import Foundation
import StrataBilling
import StrataSQL
import Testing

/// Inputs past what the schema holds are refused by the service with a clear error,
/// the same on both backends, before the server is asked.
@Suite("Input limits")
struct InputLimitTests {
    static let secret = "whsec_limits"
    static let context = BillingContext(actor: "admin:tests")

    /// A signed payload of `bytes` bytes: a JSON event padded with a string field.
    static func payload(id: String, bytes: Int) -> String {
        let head = #"{"id":"\#(id)","type":"test.big","object":"event","pad":""#
        let tail = #""}"#
        return head + String(repeating: "x", count: bytes - head.utf8.count - tail.utf8.count) + tail
    }

    /// 20 MB was stored on PostgreSQL and failed with MySQL's raw error 1153: now one
    /// limit, 1 MiB, the same error on both, and nothing stored.
    @Test(arguments: Backend.allCases)
    func webhookPayloadsAreLimitedToOneMebibyte(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let clock = ManualClock()
            let inbox = WebhookInbox(database: db, clock: clock, logger: TestLog.logger, secret: Self.secret)
            #expect(WebhookInbox.maxPayloadBytes == 1_048_576)
            for (id, bytes) in [("evt_over", WebhookInbox.maxPayloadBytes + 1), ("evt_huge", 20_000_000)] {
                let body = Self.payload(id: id, bytes: bytes)
                #expect(body.utf8.count == bytes)
                let header = WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now())
                await #expect(throws: WebhookError.payloadTooLarge(bytes: bytes, limit: 1_048_576)) {
                    try await inbox.receive(provider: "stripe", payload: body, signatureHeader: header)
                }
            }
            // The limit itself is stored, on both backends.
            let body = Self.payload(id: "evt_max", bytes: WebhookInbox.maxPayloadBytes)
            let header = WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now())
            let result = try await inbox.receive(provider: "stripe", payload: body, signatureHeader: header)
            #expect(!result.isDuplicate)
            let stored: [String] = try await db.withConnection { conn in
                try conn.query("SELECT event_id FROM webhook_events ORDER BY event_id").map { try $0.decode("event_id") }
            }
            #expect(stored == ["evt_max"])
        }
    }

    @Test func theCLIRefusesALargePayloadInOneLine() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-big-\(UUID()).json")
        try Data(Self.payload(id: "evt_cli_big", bytes: 2_000_000).utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try await StrataCLI.run(["webhooks", "receive", "--file", file.path, "--sign", "--json"],
                                        environment: ["DATABASE_URL": try Backend.mysql.url().urlString,
                                                      "STRATA_WEBHOOK_SECRET": Self.secret])
        // The error line (after the inbox's warning log line, at the CLI's default level).
        #expect(r.status == 1 && r.stderr.hasSuffix("\nstrata: error: webhook payload too large: 2000000 bytes, the limit is 1048576 bytes (1 MiB)\n"),
                "\(r.stderr)")
        #expect(r.json?["code"] as? String == "refused", "\(r.stdout)")
    }

    /// Granting past the 64-bit maximum gave the raw "bigint out of range": now a clear
    /// error from the service, nothing written, and one line from the CLI.
    @Test(arguments: Backend.allCases)
    func grantingPastTheMaximumIsAClearError(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, url in
            let wallets = WalletService(database: db, logger: TestLog.logger)
            try await wallets.grant(customer: "acme", credits: Int64.max - 10, reason: "nearly all", context: Self.context)
            await #expect(throws: WalletError.balanceOverflow(balance: Int64.max - 10, adding: 11)) {
                try await wallets.grant(customer: "acme", credits: 11, reason: "one too many", context: Self.context)
            }
            #expect(try await wallets.balance(customer: "acme") == Int64.max - 10)
            try await wallets.grant(customer: "acme", credits: 10, reason: "exactly the maximum", context: Self.context)
            #expect(try await wallets.balance(customer: "acme") == Int64.max)

            let env = ["DATABASE_URL": url.urlString]
            var r = try await StrataCLI.run(["wallet", "grant", "acme", "1", "--reason", "past it"], environment: env)
            #expect(r.status == 1 && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(r.stderr.hasPrefix("strata: error: the balance of 9223372036854775807 credits cannot take 1 more"), "\(r.stderr)")
            #expect(!r.stderr.contains("out of range"), "\(r.stderr)")
            r = try await StrataCLI.run(["wallet", "grant", "acme", "9223372036854775808", "--reason", "x"], environment: env)
            #expect(r.status == 64 && r.stderr.hasPrefix("strata: error: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            r = try await StrataCLI.run(["wallet", "verify", "acme", "--json"], environment: env)
            #expect(r.status == 0 && r.json?["ok"] as? Bool == true, "\(r.stdout)")
            #expect(try await wallets.history(customer: "acme", limit: 10, beforeSequence: nil).count == 2)
        }
    }
}
