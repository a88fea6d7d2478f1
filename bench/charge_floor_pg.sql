-- bench/charge_floor_pg.sql: the floor of `scripts/bench services` on PostgreSQL, one
-- agent-run charge per pgbench transaction, for `pgbench -M prepared` (the protocol
-- Strata's driver uses: each statement prepared once per connection, then executed
-- with its binds).
--
-- The statements are WalletService.charge's, as the server log shows them, in the same
-- transaction shape: BEGIN; the wallet locked with the run's earlier charge joined and
-- the active agent's cost read by a subquery; the conditional balance update; the ledger insert
-- RETURNING id; the audit insert; COMMIT. Same text, same binds in the same places
-- (the NULLs Strata binds are literal NULLs here). What pgbench cannot do is build a
-- string, so: customer and run ids are numbers (the benchmark's customers are 100001…),
-- and the audit row's JSON details are one fixed string of the same shape and length
-- as Strata's (:details), not this charge's figures. The client-side checks Strata makes
-- between statements (replay, agent known) cost pgbench nothing.
--
-- Variables from the command line (-D): wallets, base (run ids are base + client*10^8
-- + n, unique per invocation when base differs), n=0, agent, kind, actor, action,
-- subject, now, details.
\set w random(1, :wallets)
\set customer 100000 + :w
\set n :n + 1
\set run :base + :client_id * 100000000 + :n
BEGIN;
SELECT w.id, w.customer_id, w.balance, w.version, w.last_sequence, e.id AS earlier_id, e.wallet_id AS earlier_wallet_id, e.sequence AS earlier_sequence, e.kind AS earlier_kind, e.amount AS earlier_amount, e.balance_after AS earlier_balance_after, e.agent_key AS earlier_agent_key, e.cost_per_run AS earlier_cost_per_run, e.run_id AS earlier_run_id, e.idempotency_key AS earlier_idempotency_key, e.external_reference AS earlier_external_reference, e.refunded_transaction_id AS earlier_refunded_transaction_id, e.actor AS earlier_actor, e.reason AS earlier_reason, e.created_at AS earlier_created_at, (SELECT a.credits_per_run FROM agent_costs a WHERE a.agent_key = :agent AND a.active) AS agent_cost
FROM credit_wallets w
LEFT JOIN credit_transactions e ON e.wallet_id = w.id AND e.run_id = :run AND e.kind = 'charge'
WHERE w.customer_id = (SELECT c.id FROM customers c WHERE c.external_id = :customer)
FOR UPDATE OF w \gset
\set amount 0 - :agent_cost
\set sequence :last_sequence + 1
\set balance_after :balance + :amount
UPDATE credit_wallets
SET balance = balance + :amount, version = version + 1, last_sequence = last_sequence + 1,
    updated_at = :now
WHERE id = :id AND balance + :amount >= 0;
INSERT INTO credit_transactions
    (wallet_id, sequence, kind, amount, balance_after, agent_key, cost_per_run, run_id, idempotency_key,
     external_reference, refunded_transaction_id, actor, reason, created_at)
VALUES (:id, :sequence, :kind, :amount, :balance_after,
        :agent, :agent_cost, :run, NULL,
        NULL, NULL, :actor, NULL, :now) RETURNING "id" \gset tx_
INSERT INTO billing_audit (occurred_at, actor, action, subject_type, subject_id, request_id, details)
VALUES (:now, :actor, :action, :subject, :customer, NULL, :details);
COMMIT;
