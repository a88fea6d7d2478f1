CREATE FUNCTION touch() RETURNS trigger AS $$
BEGIN NEW.updated_at = now(); RETURN NEW; END
$$ LANGUAGE plpgsql;
CREATE INDEX CONCURRENTLY i ON t (x);
/* nested /* block */ comment */ SELECT E'it\'s';
