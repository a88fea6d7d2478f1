-- 0004 grace_periods (down): drops the grace_periods table (its indexes go with it).
DROP TABLE IF EXISTS grace_periods;
