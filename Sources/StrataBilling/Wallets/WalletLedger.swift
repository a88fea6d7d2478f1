import StrataSQL

/// The ledger's SQL, run on the caller's connection inside the caller's transaction:
/// find or create a wallet and lock it, append a row, read rows back.
///
/// The rule every writer follows: lock the wallet row (`SELECT … FOR UPDATE`) first,
/// then change its balance with a conditional `UPDATE` and insert the ledger row with
/// the next sequence. Writers of one wallet therefore run one after the other, and the
/// sequence and `balance_after` they compute under the lock are exact.
enum WalletLedger {
    /// The columns of a ledger row (table `credit_transactions`), in the order
    /// ``transaction(from:prefix:customer:)`` reads them.
    private static let transactionColumnNames = [
        "id", "wallet_id", "sequence", "kind", "amount", "balance_after", "agent_key", "cost_per_run", "run_id",
        "idempotency_key", "external_reference", "refunded_transaction_id", "actor", "reason", "created_at",
    ]

    /// The columns of a ledger row, with the owner's external id; the query must join
    /// `credit_transactions t`, `credit_wallets w` and `customers c`.
    static let transactionColumns = SQLQuery(
        unsafeSQL: (transactionColumnNames.map { "t.\($0)" } + ["c.external_id"]).joined(separator: ", "))

    /// The earlier charge of a run, joined as `e` beside a locked wallet: its columns
    /// named with the prefix `earlier_`.
    private static let earlierChargeColumns = SQLQuery(
        unsafeSQL: transactionColumnNames.map { "e.\($0) AS earlier_\($0)" }.joined(separator: ", "))

    static let lockedColumns: SQLQuery = "w.id, w.customer_id, w.balance, w.version, w.last_sequence"

    // MARK: Locking

    /// Locks the customer's wallet, creating the customer and the wallet (balance 0) when
    /// missing. Creation is part of the caller's transaction and rolls back with it.
    static func lock(_ conn: any SQLConnection, customer: String, at now: SQLTimestamp) throws -> LockedWallet {
        if let wallet = try conn.queryFirst(lockByCustomer(customer, extraColumns: nil)) {
            return try locked(wallet, customer: customer)
        }
        try create(conn, customer: customer, at: now)
        guard let wallet = try conn.queryFirst(lockByCustomer(customer, extraColumns: nil)) else {
            throw DatabaseError(.other, message: "the wallet of customer \(customer) vanished after it was created")
        }
        return try locked(wallet, customer: customer)
    }

    /// Locks the customer's wallet (creating it when missing) and, in the same statement,
    /// reads the charge's two facts: the agent's cost if the agent is active, and the
    /// run's earlier charge of this wallet, whole.
    ///
    /// One statement instead of three keeps a charge as short as the lock it holds. The
    /// earlier charge is joined (a row of the locked wallet's own ledger); the agent is
    /// read by a subquery, which the lock leaves alone, so charges of one agent to many
    /// wallets never wait for each other. When the statement had to wait for the lock,
    /// PostgreSQL rechecks the wallet row only, and may miss a charge of the same run
    /// committed meanwhile: the ledger's unique key (wallet, run, kind) then refuses the
    /// second insert, and the charge's transaction runs again and finds it.
    static func lockForCharge(_ conn: any SQLConnection, customer: String, agentKey: String, runID: String,
                              at now: SQLTimestamp) throws -> ChargeLock {
        let query: SQLQuery = """
            SELECT \(lockedColumns), \(earlierChargeColumns), \
            (SELECT a.credits_per_run FROM agent_costs a WHERE a.agent_key = \(agentKey) AND a.active) AS agent_cost
            FROM credit_wallets w
            LEFT JOIN credit_transactions e ON e.wallet_id = w.id AND e.run_id = \(runID) AND e.kind = 'charge'
            WHERE w.customer_id = (SELECT c.id FROM customers c WHERE c.external_id = \(customer))
            \(unsafeRaw: conn.dialect.forUpdate(of: "w"))
            """
        var row = try conn.queryFirst(query)
        if row == nil {
            try create(conn, customer: customer, at: now)
            row = try conn.queryFirst(query)
        }
        guard let row else {
            throw DatabaseError(.other, message: "the wallet of customer \(customer) vanished after it was created")
        }
        let hasEarlier = try row.decode("earlier_id", as: Int64?.self) != nil
        return ChargeLock(wallet: try locked(row, customer: customer), activeAgentCost: try row.decode("agent_cost"),
                          earlierCharge: hasEarlier ? try transaction(from: row, prefix: "earlier_", customer: customer) : nil)
    }

    /// Locks a wallet by id, or `nil` when there is none.
    static func lock(_ conn: any SQLConnection, walletID: Int64, customer: String) throws -> LockedWallet? {
        try conn.queryFirst("SELECT \(lockedColumns) FROM credit_wallets w WHERE w.id = \(walletID) FOR UPDATE")
            .map { try locked($0, customer: customer) }
    }

    private static func lockByCustomer(_ customer: String, extraColumns: SQLQuery?) -> SQLQuery {
        """
        SELECT \(lockedColumns)\(extraColumns ?? "") FROM credit_wallets w
        WHERE w.customer_id = (SELECT c.id FROM customers c WHERE c.external_id = \(customer)) FOR UPDATE
        """
    }

    /// Creates the customer and their wallet at balance 0 where missing; safe when two
    /// transactions create the same wallet at once (the second waits, then does nothing).
    static func create(_ conn: any SQLConnection, customer: String, at now: SQLTimestamp) throws {
        let customerID = try Customers.ensure(conn, externalID: customer, at: now)
        let ignoreExisting = try conn.dialect.upsertClause(conflictColumns: ["customer_id"], updating: [])
        try conn.execute("""
            INSERT INTO credit_wallets (customer_id, balance, version, last_sequence, created_at, updated_at)
            VALUES (\(customerID), 0, 0, 0, \(now), \(now)) \(unsafeRaw: ignoreExisting)
            """)
    }

    private static func locked(_ row: Row, customer: String) throws -> LockedWallet {
        LockedWallet(id: try row.decode("id"), customerID: try row.decode("customer_id"), customer: customer,
                     balance: try row.decode("balance"), version: try row.decode("version"),
                     lastSequence: try row.decode("last_sequence"))
    }

    // MARK: Writing

    /// Moves the wallet's balance by the entry's amount and appends the ledger row, with
    /// the wallet locked by the caller.
    ///
    /// The `UPDATE` is conditional (`balance + amount >= 0`), so even a caller that
    /// forgot the lock could never take the balance below zero.
    /// - Throws: ``WalletError/insufficientCredits(balance:required:)`` when the balance
    ///   does not cover a negative amount; ``WalletError/balanceOverflow(balance:adding:)``
    ///   when it would pass the 64-bit maximum (checked here, so the server's raw
    ///   "out of range" never reaches the caller); ``DatabaseError``.
    static func append(_ conn: any SQLConnection, to wallet: inout LockedWallet, _ entry: LedgerEntry,
                       at now: SQLTimestamp) throws -> WalletTransaction {
        guard !wallet.balance.addingReportingOverflow(entry.amount).overflow else {
            throw WalletError.balanceOverflow(balance: wallet.balance, adding: entry.amount)
        }
        let updated = try conn.execute("""
            UPDATE credit_wallets
            SET balance = balance + \(entry.amount), version = version + 1, last_sequence = last_sequence + 1,
                updated_at = \(now)
            WHERE id = \(wallet.id) AND balance + \(entry.amount) >= 0
            """)
        guard updated.rowsAffected == 1 else {
            throw WalletError.insufficientCredits(balance: wallet.balance, required: -entry.amount)
        }
        wallet.balance += entry.amount
        wallet.version += 1
        wallet.lastSequence += 1
        let id = try conn.insertReturningID("""
            INSERT INTO credit_transactions
                (wallet_id, sequence, kind, amount, balance_after, agent_key, cost_per_run, run_id, idempotency_key,
                 external_reference, refunded_transaction_id, actor, reason, created_at)
            VALUES (\(wallet.id), \(wallet.lastSequence), \(entry.kind.rawValue), \(entry.amount), \(wallet.balance),
                    \(entry.agentKey), \(entry.costPerRun), \(entry.runID), \(entry.idempotencyKey),
                    \(entry.externalReference), \(entry.refundedTransactionID), \(entry.actor), \(entry.reason), \(now))
            """)
        return WalletTransaction(
            id: id, walletID: wallet.id, customer: wallet.customer, sequence: wallet.lastSequence, kind: entry.kind,
            amount: entry.amount, balanceAfter: wallet.balance, agentKey: entry.agentKey, costPerRun: entry.costPerRun,
            runID: entry.runID, idempotencyKey: entry.idempotencyKey, externalReference: entry.externalReference,
            refundedTransactionID: entry.refundedTransactionID, actor: entry.actor, reason: entry.reason, createdAt: now)
    }

    // MARK: Reading

    /// One ledger row by id, or `nil`.
    static func transaction(_ conn: any SQLConnection, id: Int64) throws -> WalletTransaction? {
        try conn.queryFirst("""
            SELECT \(transactionColumns) FROM credit_transactions t
            JOIN credit_wallets w ON w.id = t.wallet_id JOIN customers c ON c.id = w.customer_id
            WHERE t.id = \(id)
            """).map { try transaction(from: $0) }
    }

    /// The id of the refund of a transaction, or `nil`.
    static func refundID(_ conn: any SQLConnection, of transactionID: Int64) throws -> Int64? {
        try conn.queryFirst("SELECT id FROM credit_transactions WHERE refunded_transaction_id = \(transactionID)")?.decode("id")
    }

    /// The id of the purchase of a wallet with a payment reference, or `nil`.
    static func purchaseID(_ conn: any SQLConnection, walletID: Int64, reference: String) throws -> Int64? {
        try conn.queryFirst("""
            SELECT id FROM credit_transactions
            WHERE wallet_id = \(walletID) AND kind = 'purchase' AND external_reference = \(reference)
            """)?.decode("id")
    }

    /// The wallet of a customer with its owner, or `nil`.
    static func summary(_ conn: any SQLConnection, customer: String) throws -> WalletSummary? {
        try conn.queryFirst("""
            SELECT w.id, c.external_id, w.balance, w.version, w.last_sequence, w.created_at, w.updated_at
            FROM credit_wallets w JOIN customers c ON c.id = w.customer_id WHERE c.external_id = \(customer)
            """).map(summary(from:))
    }

    /// Every wallet, by id.
    static func summaries(_ conn: any SQLConnection) throws -> [WalletSummary] {
        try conn.query("""
            SELECT w.id, c.external_id, w.balance, w.version, w.last_sequence, w.created_at, w.updated_at
            FROM credit_wallets w JOIN customers c ON c.id = w.customer_id ORDER BY w.id
            """).map(summary(from:))
    }

    static func summary(from row: Row) throws -> WalletSummary {
        WalletSummary(id: try row.decode("id"), customer: try row.decode("external_id"), balance: try row.decode("balance"),
                      version: try row.decode("version"), lastSequence: try row.decode("last_sequence"),
                      createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// A ledger row read with ``transactionColumns``, or with other column names: each
    /// prefixed, and the owner given instead of read.
    static func transaction(from row: Row, prefix: String = "", customer: String? = nil) throws -> WalletTransaction {
        func column<T: SQLValueConvertible>(_ name: String) throws -> T { try row.decode(prefix + name) }
        let kindText: String = try column("kind")
        guard let kind = WalletTransactionKind(rawValue: kindText) else {
            throw RowDecodingError(column: prefix + "kind", message: "unknown transaction kind '\(kindText)'")
        }
        return WalletTransaction(
            id: try column("id"), walletID: try column("wallet_id"),
            customer: try customer ?? row.decode("external_id"),
            sequence: try column("sequence"), kind: kind, amount: try column("amount"),
            balanceAfter: try column("balance_after"), agentKey: try column("agent_key"),
            costPerRun: try column("cost_per_run"), runID: try column("run_id"),
            idempotencyKey: try column("idempotency_key"), externalReference: try column("external_reference"),
            refundedTransactionID: try column("refunded_transaction_id"), actor: try column("actor"),
            reason: try column("reason"), createdAt: try column("created_at"))
    }

    // MARK: Verifying

    /// Checks one wallet's ledger against its balance, reading without locks.
    ///
    /// The wallet is read first and the ledger second, up to the wallet's
    /// `last_sequence`: a wallet change and its ledger row commit together, so every row
    /// up to that sequence is visible to the second statement, and rows written after the
    /// first one are left out. Charges keep running meanwhile.
    static func verify(_ conn: any SQLConnection, _ wallet: WalletSummary) throws -> LedgerReport {
        let rows = try conn.query("""
            SELECT id, sequence, kind, amount, balance_after, refunded_transaction_id FROM credit_transactions
            WHERE wallet_id = \(wallet.id) AND sequence <= \(wallet.lastSequence) ORDER BY sequence
            """)
        var problems: [String] = []
        var hidden = 0
        func problem(_ text: String) {
            if problems.count < 100 { problems.append(text) } else { hidden += 1 }
        }
        var expected: Int64 = 1
        var running: Int64 = 0
        var charges: [Int64: Int64] = [:]
        var refunds: [(id: Int64, of: Int64, amount: Int64)] = []
        for row in rows {
            let id: Int64 = try row.decode("id")
            let sequence: Int64 = try row.decode("sequence")
            let kind: String = try row.decode("kind")
            let amount: Int64 = try row.decode("amount")
            let balanceAfter: Int64 = try row.decode("balance_after")
            if sequence != expected {
                problem(sequence > expected
                    ? "sequence \(expected)\(sequence - 1 > expected ? "…\(sequence - 1)" : "") is missing"
                    : "sequence \(sequence) appears more than once")
            }
            expected = sequence + 1
            running += amount
            if balanceAfter != running {
                problem("transaction \(id) (sequence \(sequence)) has balance_after \(balanceAfter), the ledger sums to \(running)")
            }
            if running < 0 {
                problem("the balance goes below zero at sequence \(sequence) (\(running))")
            }
            if kind == WalletTransactionKind.charge.rawValue { charges[id] = amount }
            if kind == WalletTransactionKind.refund.rawValue, let of: Int64 = try row.decode("refunded_transaction_id") {
                refunds.append((id, of, amount))
            }
        }
        for refund in refunds {
            if let charged = charges[refund.of] {
                if charged != -refund.amount {
                    problem("refund \(refund.id) gives back \(refund.amount), charge \(refund.of) took \(-charged)")
                }
            } else {
                problem("refund \(refund.id) names transaction \(refund.of), which is not a charge of this wallet")
            }
        }
        if Int64(rows.count) != wallet.lastSequence || expected != wallet.lastSequence + 1 {
            problem("the wallet's last_sequence is \(wallet.lastSequence), the ledger has \(rows.count) rows up to sequence \(expected - 1)")
        }
        if running != wallet.balance {
            problem("the balance is \(wallet.balance), the ledger sums to \(running)")
        }
        if hidden > 0 { problems.append("… and \(hidden) more problems") }
        return LedgerReport(walletID: wallet.id, customer: wallet.customer, balance: wallet.balance, ledgerSum: running,
                            lastSequence: wallet.lastSequence, entries: rows.count, problems: problems)
    }
}
