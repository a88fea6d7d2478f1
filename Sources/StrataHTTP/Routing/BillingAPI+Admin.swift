import Hummingbird
import StrataBilling

extension BillingAPI {
    /// The most dead events one `GET /billing/admin/webhooks/dead` lists.
    static let maxDeadEvents = 500

    /// `POST /billing/admin/refunds`: gives a charge's credits back, once.
    ///
    /// `200 {"success": true, "new_balance", "transaction_id"}` (the refund's row);
    /// `404` for no such transaction; `409 BILLING_NOT_REFUNDABLE` for a refunded charge
    /// or a row that is not a charge. `Idempotency-Key` replays the first refund.
    func refund(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await admin(request)
        let key = try IdempotencyKeyHeader.key(of: request)
        let body = try await JSONBody.decode(RefundRequest.self, from: request)
        let receipt = try await wallets.refund(transactionID: body.transactionID, reason: body.reason,
                                               context: caller.context(requestID: context.requestID), idempotencyKey: key)
        return try JSONResponse.make(.ok, GrantBody(newBalance: receipt.transaction.balanceAfter,
                                                    transactionID: receipt.transaction.id),
                                     headers: IdempotencyKeyHeader.headers(replayed: receipt.isReplay))
    }

    /// `GET /billing/admin/webhooks/dead?limit=`: the dead-letter queue, newest first.
    func deadWebhooks(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        _ = try await admin(request)
        var limit = 100
        if let text = request.uri.queryParameters["limit"] {
            guard let n = Int(text), (1...Self.maxDeadEvents).contains(n) else {
                throw APIError.badRequest("INVALID_REQUEST", "limit must be an integer from 1 to \(Self.maxDeadEvents)")
            }
            limit = n
        }
        let dead = try await inbox.dead(limit: limit)
        return try JSONResponse.make(.ok, ListBody(name: "events", items: dead.map(WebhookEventBody.init)))
    }

    /// `POST /billing/admin/webhooks/{id}/replay`: a dead event back to pending, due now,
    /// for the workers; `404` for no such event, `409 WEBHOOK_EVENT_NOT_DEAD` otherwise.
    func replayWebhook(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await admin(request)
        guard let id = context.parameters.get("id", as: Int64.self), id > 0 else {
            throw APIError(.notFound, "WEBHOOK_EVENT_NOT_FOUND", "no webhook event with that id")
        }
        let event = try await inbox.replay(eventID: id, context: caller.context(requestID: context.requestID))
        return try JSONResponse.make(.ok, WebhookEventBody(event))
    }

    /// `GET /billing/admin/audit?subject_type=&subject=&limit=`: audit rows, newest first.
    func audit(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        _ = try await admin(request)
        let query = request.uri.queryParameters
        var limit = 100
        if let text = query["limit"] {
            guard let n = Int(text), (1...Self.maxDeadEvents).contains(n) else {
                throw APIError.badRequest("INVALID_REQUEST", "limit must be an integer from 1 to \(Self.maxDeadEvents)")
            }
            limit = n
        }
        let subjectType = query["subject_type"].map(String.init)
        let subject = query["subject"].map(String.init)
        // libpq would cut a NUL-bearing value short and match other subjects' rows.
        for (name, value) in [("subject_type", subjectType), ("subject", subject)]
        where value?.unicodeScalars.contains("\u{0}") == true {
            throw APIError.badRequest("INVALID_REQUEST", "\(name) must not contain a NUL character")
        }
        let entries = try await AuditLog.query(database, subjectType: subjectType, subjectID: subject, limit: limit)
        return try JSONResponse.make(.ok, ListBody(name: "entries", items: entries.map(AuditEntryBody.init)))
    }

    /// `GET /billing/admin/ledger/verify`: every wallet's ledger checked against its balance.
    func verifyLedgers(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        _ = try await admin(request)
        return try JSONResponse.make(.ok, LedgerVerificationBody(try await wallets.verifyAll()))
    }
}
