-- bench/charge_floor_pg.sql: the floor of `scripts/bench services` on PostgreSQL, one
-- agent-run charge per pgbench transaction, for `pgbench -M prepared` (the protocol
-- Strata's driver uses: each statement prepared once per connection, then executed
-- with its binds).
--
-- The statements are WalletService.charge's, as the server log shows them, in the same
-- transaction shape: BEGIN; the wallet locked with the agent's cost and the run's
-- earlier charge read by subqueries; the conditional balance update; the ledger insert
-- RETURNING id; the audit insert; COMMIT. Same text, same binds in the same places
-- (the NULLs Strata binds are literal NULLs here). What pgbench cannot do is build a
-- string, so: customer and run ids are numbers (the benchmark's customers are 100001…),
-- and the audit row's JSON details are one fixed string of the same shape and length
-- as Strata's (:details), not this charge's figures. The client-side checks Strata makes
-- between statements (replay, agent active, balance) cost pgbench nothing.
--
-- Variables from the command line (-D): wallets, base (run ids are base + client*10^8
-- + n, unique per invocation when base differs), n=0, agent, kind, actor, action,
-- subject, now, details.
\set w random(1, :wallets)
\set customer 100000 + :w
\set n :n + 1
\set run :base + :client_id * 100000000 + :n
BEGIN;
SELECT w.id, w.customer_id, w.balance, w.version, w.last_sequence, (SELECT a.credits_per_run FROM agent_costs a WHERE a.agent_key = :agent) AS agent_cost, (SELECT a.active FROM agent_costs a WHERE a.agent_key = :agent) AS agent_active, (SELECT t.id FROM credit_transactions t WHERE t.wallet_id = w.id AND t.run_id = :run AND t.kind = 'charge') AS earlier_charge_id FROM credit_wallets w
WHERE w.customer_id = (SELECT c.id FROM customers c WHERE c.external_id = :customer) FOR UPDATE \gset
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
