import Hummingbird
import StrataBilling
import StrataSQL

extension BillingAPI {
    /// `POST /billing/reconcile`: runs a reconciliation of the period and answers its
    /// report (``StrataBilling/ReconciliationReport``'s JSON), admins only.
    ///
    /// `200` with the report, clean or not (a discrepancy is a finding, not an error);
    /// `400 INVALID_REQUEST` for a time that is not RFC 3339 or a period that ends before
    /// it starts; `403` for a customer's token. `Idempotency-Key` (scope `reconcile`):
    /// the same key and body answer the stored report with `Idempotent-Replayed: true`,
    /// another body `422 IDEMPOTENCY_KEY_REUSED`, a request still running
    /// `409 IDEMPOTENCY_KEY_IN_PROGRESS`.
    func reconcile(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let caller = try await admin(request)
        let key = try IdempotencyKeyHeader.key(of: request)
        let body = try await JSONBody.decode(ReconcileRequest.self, from: request)
        let report = try await reconciliation.run(since: try Self.time(body.since, "since"),
                                                  until: try Self.time(body.until, "until"),
                                                  context: caller.context(requestID: context.requestID),
                                                  idempotencyKey: key)
        return try JSONResponse.make(.ok, report, headers: IdempotencyKeyHeader.headers(replayed: report.isReplay))
    }

    /// An RFC 3339 time of a request body, or `nil` when absent.
    static func time(_ text: String?, _ member: String) throws -> SQLTimestamp? {
        guard let text else { return nil }
        guard text.count <= 64, let time = SQLTimestamp(parsing: text) else {
            throw APIError.badRequest("INVALID_REQUEST", "\(member) must be an RFC 3339 time such as 2026-01-31T12:00:00Z")
        }
        return time
    }
}
