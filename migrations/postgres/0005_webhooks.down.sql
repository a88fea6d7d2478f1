-- 0005 webhooks (down): drops webhook_attempts, then webhook_events.
DROP TABLE IF EXISTS webhook_attempts;

DROP TABLE IF EXISTS webhook_events;
