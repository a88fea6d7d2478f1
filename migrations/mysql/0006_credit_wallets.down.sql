-- 0006 credit wallets (down): drops credit_transactions, then credit_wallets.
DROP TABLE IF EXISTS credit_transactions;

DROP TABLE IF EXISTS credit_wallets;
