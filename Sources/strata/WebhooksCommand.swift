import ArgumentParser
import Dispatch
import Foundation
import Logging
import StrataBilling
import StrataDrivers
import StrataSQL

/// `strata webhooks`: the provider webhook inbox, its retry worker and dead letters.
struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Provider webhooks: receive (verify and store once), work the retries, list and replay dead events.",
        discussion: """
            Signatures are Stripe's: the header t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">,
            accepted within 5 minutes of the clock. The secret comes from STRATA_WEBHOOK_SECRET
            only, never from a flag that would land in shell history.

            An event is stored once per provider and event id; later deliveries are
            acknowledged and ignored. Workers process due events through the built-in handlers
            (checkout.session.completed → credit purchase; invoice.created, invoice.finalized,
            invoice.payment_failed, invoice.payment_succeeded → the invoice, and for the last
            two the grace period); a failure is retried after 1 s, 10 s,
            1 min, 10 min and 1 h (±10 %), and after the 6th attempt the event is dead until
            replayed. An event type without a handler fails the same way.
            """,
        subcommands: [WebhooksReceive.self, WebhooksWork.self, WebhooksDead.self, WebhooksReplay.self])
}

struct WebhooksReceive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "Verify one delivery's signature and store its event (once), as the HTTP endpoint would.",
        discussion: """
            The payload is read from --file or standard input, byte for byte: the signature
            covers the exact body. Pass the provider's header with --signature, or --sign to
            sign the payload with STRATA_WEBHOOK_SECRET at the current time (local testing).
            A bad or stale signature stores nothing and exits 1.
            """)

    @Option(help: ArgumentHelp("Who sent the event; event ids are unique per provider.", valueName: "name"))
    var provider: String = "stripe"

    @Option(help: ArgumentHelp("Read the payload from this file instead of standard input.", valueName: "path"))
    var file: String?

    @Option(help: ArgumentHelp("The provider's signature header (Stripe-Signature).", valueName: "header"))
    var signature: String?

    @Flag(help: "Sign the payload with STRATA_WEBHOOK_SECRET at the current time, for local testing.")
    var sign = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if sign && signature != nil { throw ValidationError("pass --signature or --sign, not both") }
        if !sign && signature == nil {
            throw ValidationError("pass --signature HEADER (the provider's signature header), or --sign to sign the payload now")
        }
    }

    func run() async throws {
        try await guarded(json: output.json) {
            let secret = try WebhookCLI.secret()
            let payload = try readPayload()
            let clock = SystemClock()
            let header = signature ?? WebhookSignature.sign(payload: payload, secret: secret, at: clock.now())
            try await withBillingDatabase(connection) { db in
                let inbox = WebhookInbox(database: db, clock: clock, logger: connection.logger(), secret: secret)
                let result = try await inbox.receive(provider: provider, payload: payload, signatureHeader: header)
                let event = try await inbox.event(id: result.id)
                let outcome = result.isDuplicate ? "duplicate" : "stored"
                if output.json {
                    printJSON(["command": "webhooks receive", "ok": true, "result": outcome, "id": result.id,
                               "provider": provider, "event_id": event?.eventID ?? "", "type": event?.type ?? "",
                               "state": event?.state.rawValue ?? ""])
                } else if result.isDuplicate {
                    print("duplicate: \(provider) \(event?.eventID ?? "") is already stored as event \(result.id) (acknowledged, ignored)")
                } else {
                    print("stored event \(result.id): \(provider) \(event?.eventID ?? "") \(event?.type ?? ""), pending")
                }
            }
        }
    }

    private func readPayload() throws -> String {
        let data: Data
        if let file {
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw CLIError(description: "cannot read \(file): \(error.localizedDescription)")
            }
        } else {
            if isatty(STDIN_FILENO) == 1 { throw CLIError.usage("pass --file PATH or pipe the payload on standard input") }
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        guard let text = String(validating: Array(data), as: UTF8.self) else {
            throw CLIError(description: "the payload is not UTF-8 text")
        }
        return text
    }
}

struct WebhooksWork: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Process due webhook events through the built-in handlers, retrying failures on schedule.",
        discussion: """
            Each pass claims up to --limit due events under a lease (FOR UPDATE SKIP LOCKED:
            any number of workers on any number of machines share the work), runs their
            handlers and records each attempt. Without --once it loops, sleeping until the next
            event falls due or for at most a second; --until-idle exits instead once nothing is
            due; SIGINT or SIGTERM stops it after the pass in progress. A worker that stops mid-pass loses nothing: its leases expire and
            another worker takes the events over.
            """)

    @Flag(help: "Run one pass and exit.")
    var once = false

    @Flag(help: "Loop while events are due, then exit instead of waiting for more (drain the queue).")
    var untilIdle = false

    @Option(help: ArgumentHelp(
        "Seconds to wait after the 1st, 2nd, … failure; one more attempt than delays (default 1,10,60,600,3600). For demos and tests.",
        valueName: "s,s,…"))
    var retrySchedule: String?

    @Option(help: ArgumentHelp("Events claimed per pass, handled concurrently.", valueName: "n"))
    var limit: Int = 10

    @Option(help: ArgumentHelp("This worker's lease owner name (default: host:pid).", valueName: "id"))
    var workerID: String?

    @Option(help: ArgumentHelp("Seconds a claim lasts before another worker may take the event over.", valueName: "seconds"))
    var leaseSeconds: Double = RetryWorker.defaultLeaseDuration

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive, not \(limit)") }
        guard leaseSeconds > 0 else { throw ValidationError("--lease-seconds must be positive, not \(leaseSeconds)") }
        if let workerID, workerID.isEmpty || workerID.count > 191 {
            throw ValidationError("--worker-id must be 1 to 191 characters")
        }
        if once && untilIdle { throw ValidationError("pass --once or --until-idle, not both") }
        _ = try policy()
    }

    /// The standard policy, or the one --retry-schedule gives (with the same jitter).
    func policy() throws -> WebhookRetryPolicy {
        guard let retrySchedule else { return .standard }
        let delays = retrySchedule.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !delays.isEmpty, delays.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw ValidationError("--retry-schedule takes comma-separated non-negative seconds, like 1,10,60,600,3600")
        }
        return WebhookRetryPolicy(schedule: delays.compactMap { $0 }, jitter: WebhookRetryPolicy.standard.jitter)
    }

    func run() async throws {
        try await guarded(json: output.json) {
            let id = workerID ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
            let logger = connection.logger()
            let clock = SystemClock()
            // Handlers use the pool too (wallet and grace transactions) while passes finish attempts.
            try await withBillingDatabase(connection, maxConnections: min(limit, 8) + 1) { db in
                let registry = WebhookHandlerRegistry.builtIn(
                    wallets: WalletService(database: db, clock: clock, logger: logger),
                    grace: GracePeriodService(database: db, clock: clock, logger: logger))
                let worker = RetryWorker(id: id, database: db, registry: registry, clock: clock, logger: logger,
                                         leaseDuration: leaseSeconds, policy: try policy())
                let stop = WebhookWorkerStop()
                if !once { stop.install() }
                while true {
                    let summary = try await worker.runDue(limit: limit)
                    if output.json {
                        printJSON(WebhookCLI.json(summary, worker: id))
                    } else if summary.claimed > 0 || once {
                        print(WebhookCLI.line(summary))
                    }
                    if once || stop.requested { break }
                    if summary.claimed >= limit { continue }
                    let now = clock.now()
                    var wait = 1.0
                    let due = try await worker.nextDue()
                    if let due {
                        wait = min(max(Double(due.microsecondsSinceEpoch - now.microsecondsSinceEpoch) / 1_000_000, 0), 1)
                    }
                    if untilIdle && (due.map { $0 > now } ?? true) { break }
                    if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000)) }
                    if stop.requested { break }
                }
            }
        }
    }
}

struct WebhooksDead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "List dead webhook events (6 failed attempts), the most recent first, with their last error.")

    @Option(help: ArgumentHelp("The most events to list.", valueName: "n"))
    var limit: Int = 100

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withBillingDatabase(connection) { db in
                let inbox = WebhookInbox(database: db, clock: SystemClock(), logger: connection.logger(), secret: "")
                let events = try await inbox.dead(limit: limit)
                if output.json {
                    printJSON(["command": "webhooks dead", "ok": true, "events": events.map(WebhookCLI.json)])
                } else if events.isEmpty {
                    print("no dead events")
                } else {
                    for e in events {
                        print("\(e.id)  \(e.provider)  \(e.eventID)  \(e.type)  \(e.attempts) attempts  received \(e.receivedAt.iso8601)")
                        print("    last error: \(e.lastError ?? "-")")
                    }
                    print("\(events.count) dead event\(events.count == 1 ? "" : "s"); replay one with `strata webhooks replay EVENT_ID`")
                }
            }
        }
    }
}

struct WebhooksReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Move a dead webhook event back to pending, due now, with a fresh budget of 6 attempts.",
        discussion: "The attempt history is kept: new attempts are numbered on from the last one.")

    @Argument(help: ArgumentHelp("The provider's event id, as `webhooks dead` lists it (evt_…).", valueName: "event-id"))
    var eventID: String

    @Option(help: ArgumentHelp("The provider that sent the event.", valueName: "name"))
    var provider: String = "stripe"

    @OptionGroup var change: BillingChangeOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            let context = change.context()
            try await withBillingDatabase(connection) { db in
                let inbox = WebhookInbox(database: db, clock: SystemClock(), logger: connection.logger(), secret: "")
                let event = try await inbox.replay(provider: provider, eventID: eventID, context: context)
                if output.json {
                    var json = WebhookCLI.json(event)
                    json["command"] = "webhooks replay"
                    json["ok"] = true
                    printJSON(json)
                } else {
                    print("replayed event \(event.id) (\(event.provider) \(event.eventID)): pending, due now")
                }
            }
        }
    }
}

/// What the webhook commands share.
enum WebhookCLI {
    static let secretVariable = "STRATA_WEBHOOK_SECRET"

    /// The signing secret, from the environment only.
    static func secret() throws -> String {
        guard let secret = ProcessInfo.processInfo.environment[secretVariable], !secret.isEmpty else {
            throw CLIError.usage("\(secretVariable) is not set: export the endpoint's signing secret (it is never taken from a flag)")
        }
        return secret
    }

    static func json(_ e: WebhookEvent) -> [String: Any] {
        [
            "id": e.id, "provider": e.provider, "event_id": e.eventID, "type": e.type, "state": e.state.rawValue,
            "attempts": e.attempts, "next_attempt_at": e.nextAttemptAt?.iso8601 ?? NSNull(),
            "last_error": e.lastError ?? NSNull(), "received_at": e.receivedAt.iso8601,
            "processed_at": e.processedAt?.iso8601 ?? NSNull(),
        ]
    }

    static func json(_ s: RetryWorker.RunSummary, worker: String) -> [String: Any] {
        ["command": "webhooks work", "ok": true, "worker": worker, "claimed": s.claimed, "reclaimed": s.reclaimed,
         "processed": s.processed, "retried": s.retried, "dead": s.dead, "refused": s.refused, "unrecorded": s.unrecorded]
    }

    static func line(_ s: RetryWorker.RunSummary) -> String {
        guard s.claimed > 0 else { return "nothing due" }
        var parts = ["claimed \(s.claimed)\(s.reclaimed > 0 ? " (\(s.reclaimed) taken over)" : "")",
                     "processed \(s.processed)", "to retry \(s.retried)", "dead \(s.dead)"]
        if s.refused > 0 { parts.append("refused \(s.refused)") }
        if s.unrecorded > 0 { parts.append("unrecorded \(s.unrecorded)") }
        return parts.joined(separator: ", ")
    }
}

/// SIGINT / SIGTERM ask the worker loop to stop after the pass in progress.
final class WebhookWorkerStop: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    private var sources: [any DispatchSourceSignal] = []

    var requested: Bool { lock.withLock { stopRequested } }

    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in lock.withLock { stopRequested = true } }
            source.resume()
            sources.append(source)
        }
    }
}
