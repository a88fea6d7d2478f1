-- 0003 plans, subscriptions, usage (down): drops usage_alerts, usage_counters,
-- subscriptions and plans, children first.
DROP TABLE IF EXISTS usage_alerts;

DROP TABLE IF EXISTS usage_counters;

DROP TABLE IF EXISTS subscriptions;

DROP TABLE IF EXISTS plans;
