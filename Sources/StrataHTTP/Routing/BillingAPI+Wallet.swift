import Hummingbird
import StrataBilling

extension BillingAPI {
    /// Transactions per page of `GET /billing/wallet` when `limit` is not given, and the most.
    static let defaultPageSize = 20
    static let maxPageSize = 100

    /// `GET /billing/wallet?limit=&cursor=`: the caller's wallet and a page of its ledger.
    ///
    /// The cursor is the sequence of the last row of the previous page: rows are
    /// append-only and numbered, so pages never skip or repeat a row while charges land.
    func wallet(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let query = request.uri.queryParameters
        var limit = Self.defaultPageSize
        if let text = query["limit"] {
            guard let n = Int(text), (1...Self.maxPageSize).contains(n) else {
                throw APIError.badRequest("INVALID_REQUEST", "limit must be an integer from 1 to \(Self.maxPageSize)")
            }
            limit = n
        }
        var before: Int64?
        if let text = query["cursor"] {
            guard let n = Int64(text), n > 0 else {
                throw APIError.badRequest("INVALID_REQUEST", "cursor must be a next_cursor this route returned")
            }
            before = n
        }
        let summary = try await wallets.openWallet(customer: caller.subject)
        // One row more than asked says whether another page follows.
        let rows = try await wallets.history(customer: caller.subject, limit: limit + 1, beforeSequence: before)
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { String($0.sequence) } : nil
        return try JSONResponse.make(.ok, WalletBody(customer: summary.customer, balanceCredits: summary.balance,
                                                     transactions: page.map(TransactionBody.init), nextCursor: next))
    }

    /// `POST /billing/charges`: charges one agent run to the caller's wallet.
    ///
    /// `201` for a new charge; `200` with `replay: true` and the first receipt for a run
    /// already charged; `402 BILLING_INSUFFICIENT_CREDITS` with `balance` and `required`,
    /// changing nothing; `404` for an unknown or inactive agent.
    func charge(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await customer(request)
        let body = try await JSONBody.decode(ChargeRequest.self, from: request)
        let receipt = try await wallets.charge(customer: caller.subject, agentKey: body.agent, runID: body.runID,
                                               context: caller.context(requestID: context.requestID))
        return try JSONResponse.make(receipt.isReplay ? .ok : .created, ChargeBody(receipt))
    }

    /// `POST /billing/admin/grant`: credits a customer's wallet, as an admin's decision.
    func grant(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await admin(request)
        let body = try await JSONBody.decode(GrantRequest.self, from: request)
        let receipt = try await wallets.grant(customer: body.customer, credits: body.credits, reason: body.reason,
                                              context: caller.context(requestID: context.requestID))
        return try JSONResponse.make(.ok, GrantBody(newBalance: receipt.transaction.balanceAfter,
                                                    transactionID: receipt.transaction.id))
    }
}
