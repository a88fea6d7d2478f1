CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
-- a comment; not a delimiter
INSERT INTO t VALUES (1, 'a;b');
