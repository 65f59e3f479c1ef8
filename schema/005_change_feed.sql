-- The change feed (GET /v1/changes): one row per create, update, archive, transition,
-- escalation, completion, cancellation and delete of customers, interactions, complaints and
-- follow-ups, written by triggers in the transaction of the change.
--
-- A poller must never skip an entry, but transactions commit out of order: a sequence
-- number taken early may become visible after a later one has been handed out. So seq is
-- made from the writing transaction's id: (xid8 << 16) + the entry's ordinal within the
-- transaction, and the feed hands out only entries of transactions older than the oldest
-- one still running (pg_snapshot_xmin): those are finished, no entry can appear among them
-- any more, and every later entry gets a larger seq. The price: a long-running writing
-- transaction holds back the feed (not the writes) until it ends. 16 bits of ordinal allow
-- 65,535 entries per transaction; seq stays below 2^53 (exact in JavaScript) for the first
-- 2^37 transactions of the cluster.
CREATE TABLE changes (
    seq bigint PRIMARY KEY,
    entity text NOT NULL CHECK (entity IN ('customer', 'interaction', 'complaint', 'follow_up')),
    id uuid NOT NULL,
    action text NOT NULL CHECK (action IN ('created', 'updated', 'archived', 'deleted',
                                           'transitioned', 'escalated', 'completed', 'cancelled')),
    at timestamptz NOT NULL DEFAULT csrd_now()
);

CREATE FUNCTION csrd_change_seq() RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    n integer := coalesce(nullif(current_setting('csrd.change_ordinal', true), ''), '0')::integer + 1;
BEGIN
    IF n > 65535 THEN
        RAISE EXCEPTION 'more than 65535 change-feed entries in one transaction'
            USING ERRCODE = '54000';
    END IF;
    PERFORM set_config('csrd.change_ordinal', n::text, true); -- local to the transaction
    RETURN (pg_current_xact_id()::text::bigint << 16) + n;
END $$;

-- The first seq that may still appear: everything below it is final. STABLE, so that it reads
-- the snapshot of the query that calls it: a fresh snapshot could count as finished a
-- transaction whose entries that query cannot see yet.
CREATE FUNCTION csrd_change_horizon() RETURNS bigint
LANGUAGE sql STABLE
AS $$ SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 16 $$;

CREATE FUNCTION csrd_record_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    act text := 'updated';
BEGIN
    IF TG_OP = 'INSERT' THEN
        act := 'created';
    ELSIF TG_OP = 'DELETE' THEN
        act := 'deleted';
    ELSIF TG_TABLE_NAME = 'customers' THEN
        IF NEW.archived_at IS NOT NULL AND OLD.archived_at IS NULL THEN
            act := 'archived';
        END IF;
    ELSIF TG_TABLE_NAME = 'complaints' THEN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            act := 'transitioned';
        ELSIF NEW.escalation_level > OLD.escalation_level THEN
            act := 'escalated';
        END IF;
    ELSIF TG_TABLE_NAME = 'follow_ups' THEN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            act := CASE WHEN NEW.status = 'cancelled' THEN 'cancelled' ELSE 'completed' END;
        END IF;
    END IF;
    INSERT INTO changes (seq, entity, id, action)
    VALUES (csrd_change_seq(), TG_ARGV[0], CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
            act);
    RETURN NULL;
END $$;

CREATE TRIGGER customers_change AFTER INSERT OR UPDATE OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION csrd_record_change('customer');
CREATE TRIGGER interactions_change AFTER INSERT OR UPDATE OR DELETE ON interactions
    FOR EACH ROW EXECUTE FUNCTION csrd_record_change('interaction');
CREATE TRIGGER complaints_change AFTER INSERT OR UPDATE OR DELETE ON complaints
    FOR EACH ROW EXECUTE FUNCTION csrd_record_change('complaint');
CREATE TRIGGER follow_ups_change AFTER INSERT OR UPDATE OR DELETE ON follow_ups
    FOR EACH ROW EXECUTE FUNCTION csrd_record_change('follow_up');
