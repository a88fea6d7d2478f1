import Hummingbird
import StrataBilling

extension BillingAPI {
    /// Rows per page of `GET /billing/wallet` (and the other paged routes) when `limit` is not given, and the most.
    static let defaultPageSize = 20
    static let maxPageSize = 100

    /// `GET /billing/wallet?limit=&cursor=`: the caller's wallet and a page of its ledger.
    ///
    /// The cursor is the sequence of the last row of the previous page: rows are
    /// append-only and numbered, so pages never skip or repeat a row while charges land.
    func wallet(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let (limit, before) = try Self.page(of: request)
        let summary = try await wallets.openWallet(customer: caller.subject)
        let (page, next) = try await historyPage(of: caller, limit: limit, before: before, kind: nil)
        return try JSONResponse.make(.ok, WalletBody(customer: summary.customer, balanceCredits: summary.balance,
                                                     transactions: page, nextCursor: next))
    }

    /// `GET /billing/history?kind=&limit=&cursor=`: the caller's ledger, newest first,
    /// optionally one kind of row (`purchase` for the credit packages bought); nothing is
    /// created for a customer without a wallet: the history is empty.
    func history(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let (limit, before) = try Self.page(of: request)
        var kind: WalletTransactionKind?
        if let text = request.uri.queryParameters["kind"] {
            guard let k = WalletTransactionKind(rawValue: String(text)) else {
                let kinds = WalletTransactionKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.badRequest("INVALID_REQUEST", "kind must be one of \(kinds)")
            }
            kind = k
        }
        let (page, next) = try await historyPage(of: caller, limit: limit, before: before, kind: kind)
        return try JSONResponse.make(.ok, HistoryBody(transactions: page, nextCursor: next))
    }

    /// `limit` (1 to ``maxPageSize``, default ``defaultPageSize``) and `cursor` of a ledger page.
    static func page(of request: Request) throws -> (limit: Int, before: Int64?) {
        let limit = try pageLimit(of: request)
        var before: Int64?
        if let text = request.uri.queryParameters["cursor"] {
            guard let n = Int64(text), n > 0 else {
                throw APIError.badRequest("INVALID_REQUEST", "cursor must be a next_cursor this route returned")
            }
            before = n
        }
        return (limit, before)
    }

    /// The `limit` of a page: 1 to ``maxPageSize``, ``defaultPageSize`` when not given.
    static func pageLimit(of request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return defaultPageSize }
        guard let n = Int(text), (1...maxPageSize).contains(n) else {
            throw APIError.badRequest("INVALID_REQUEST", "limit must be an integer from 1 to \(maxPageSize)")
        }
        return n
    }

    /// One page of the caller's ledger and the cursor of the next (`nil` on the last).
    func historyPage(of caller: Caller, limit: Int, before: Int64?,
                     kind: WalletTransactionKind?) async throws -> ([TransactionBody], String?) {
        // One row more than asked says whether another page follows.
        let rows = try await wallets.history(customer: caller.subject, limit: limit + 1, beforeSequence: before, kind: kind)
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { String($0.sequence) } : nil
        return (page.map(TransactionBody.init), next)
    }

    /// `POST /billing/charges`: charges one agent run to the caller's wallet.
    ///
    /// `201` for a new charge; `200` with `replay: true` and the first receipt for a run
    /// already charged; `402 BILLING_INSUFFICIENT_CREDITS` with `balance` and `required`,
    /// changing nothing; `404` for an unknown or inactive agent. With an
    /// `Idempotency-Key` that already made this charge, the first answer again (`201`,
    /// `replay: false`) with `Idempotent-Replayed: true`: the ledger row carries the key,
    /// which tells a key's replay from a run's.
    func charge(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let key = try IdempotencyKeyHeader.key(of: request)
        let body = try await JSONBody.decode(ChargeRequest.self, from: request)
        let receipt = try await wallets.charge(customer: caller.subject, agentKey: body.agent, runID: body.runID,
                                               context: caller.context(requestID: context.requestID), idempotencyKey: key)
        let keyReplay = key != nil && receipt.isReplay && receipt.transaction.idempotencyKey == key
        if keyReplay {
            var first = ChargeBody(receipt)
            first.replay = false
            return JSONResponse.make(.created, first, headers: IdempotencyKeyHeader.headers(replayed: true))
        }
        return JSONResponse.make(receipt.isReplay ? .ok : .created, ChargeBody(receipt))
    }

    /// `POST /billing/admin/grant`: credits a customer's wallet, as an admin's decision.
    ///
    /// With an `Idempotency-Key` (scoped to the customer's wallet), a retry answers the
    /// first grant's body again with `Idempotent-Replayed: true`.
    func grant(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await admin(request)
        let key = try IdempotencyKeyHeader.key(of: request)
        let body = try await JSONBody.decode(GrantRequest.self, from: request)
        let receipt = try await wallets.grant(customer: body.customer, credits: body.credits, reason: body.reason,
                                              context: caller.context(requestID: context.requestID), idempotencyKey: key)
        return try JSONResponse.make(.ok, GrantBody(newBalance: receipt.transaction.balanceAfter,
                                                    transactionID: receipt.transaction.id),
                                     headers: IdempotencyKeyHeader.headers(replayed: receipt.isReplay))
    }
}
