-- Claims wait for work (long polling): whenever an execution becomes claimable, the server
-- process that parks its site's claims is told at once with NOTIFY mse_claimable, payload =
-- the site's id. PostgreSQL delivers a notification only when the transaction commits, so a
-- woken claim finds the execution, and notifications repeated within one transaction are
-- delivered once.
CREATE FUNCTION mse_notify_claimable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mse_claimable', NEW.site_id::text);
    RETURN NULL;
END $$;

-- Created queued, or handed back to the queue (a lapsed lease, a worker's hand-back).
CREATE TRIGGER executions_claimable_ins AFTER INSERT ON executions
    FOR EACH ROW WHEN (NEW.state = 'queued') EXECUTE FUNCTION mse_notify_claimable();
CREATE TRIGGER executions_claimable_upd AFTER UPDATE OF state ON executions
    FOR EACH ROW WHEN (NEW.state = 'queued' AND OLD.state <> 'queued')
    EXECUTE FUNCTION mse_notify_claimable();

-- A site enabled again makes its queued executions claimable.
CREATE FUNCTION mse_notify_site_enabled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mse_claimable', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER sites_claimable AFTER UPDATE OF enabled ON sites
    FOR EACH ROW WHEN (NEW.enabled AND NOT OLD.enabled) EXECUTE FUNCTION mse_notify_site_enabled();
