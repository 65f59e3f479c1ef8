-- Complaint figures per 15 minutes, kept in step with complaints and follow-ups by triggers in
-- the writing transaction, so that /v1/reports/complaints/trend sums a few thousand rows
-- instead of reading every complaint of the year (500,000 complaints a year: 1.6 s raw,
-- the target is 300 ms). 15 minutes, because buckets start at local midnight in any zone
-- (Asia/Kathmandu is UTC+05:45). Rows are spread over 4 shards per bucket (by backend) so
-- that concurrent writers do not queue on one row. What depends on the clock (an open
-- complaint running past its deadline) is not stored: the report counts those live.
CREATE TABLE complaint_stats (
    bucket        timestamptz NOT NULL, -- date_bin('15 minutes', t, '2000-01-01')
    shard         smallint NOT NULL,
    created       integer NOT NULL DEFAULT 0, -- complaints created in the bucket
    breached_late integer NOT NULL DEFAULT 0, -- ... of them with a clock stopped late
    resolved      integer NOT NULL DEFAULT 0, -- complaints whose resolved_at lies in it
    sat_sum       integer NOT NULL DEFAULT 0, -- follow-ups completed in it: satisfaction sum
    sat_n         integer NOT NULL DEFAULT 0, -- ... and count
    PRIMARY KEY (bucket, shard)
);

CREATE FUNCTION csrd_stat_bucket(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT date_bin('15 minutes', t, '2000-01-01 00:00:00+00') $$;

CREATE FUNCTION csrd_stat_add(t timestamptz, d_created integer, d_late integer, d_resolved integer,
                              d_sat_sum integer, d_sat_n integer) RETURNS void
LANGUAGE sql
AS $$ INSERT INTO complaint_stats AS s (bucket, shard, created, breached_late, resolved, sat_sum, sat_n)
      VALUES (csrd_stat_bucket(t), pg_backend_pid() % 4, d_created, d_late, d_resolved, d_sat_sum, d_sat_n)
      ON CONFLICT (bucket, shard) DO UPDATE SET created = s.created + excluded.created,
          breached_late = s.breached_late + excluded.breached_late,
          resolved = s.resolved + excluded.resolved, sat_sum = s.sat_sum + excluded.sat_sum,
          sat_n = s.sat_n + excluded.sat_n $$;

CREATE FUNCTION csrd_complaint_stats() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.created_at = NEW.created_at
       AND OLD.breached_late = NEW.breached_late
       AND OLD.resolved_at IS NOT DISTINCT FROM NEW.resolved_at THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM csrd_stat_add(OLD.created_at, -1, -OLD.breached_late::integer, 0, 0, 0);
        IF OLD.resolved_at IS NOT NULL THEN
            PERFORM csrd_stat_add(OLD.resolved_at, 0, 0, -1, 0, 0);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM csrd_stat_add(NEW.created_at, 1, NEW.breached_late::integer, 0, 0, 0);
        IF NEW.resolved_at IS NOT NULL THEN
            PERFORM csrd_stat_add(NEW.resolved_at, 0, 0, 1, 0, 0);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER complaints_stats AFTER INSERT OR UPDATE OR DELETE ON complaints
    FOR EACH ROW EXECUTE FUNCTION csrd_complaint_stats();

CREATE FUNCTION csrd_follow_up_stats() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status
       AND OLD.completed_at IS NOT DISTINCT FROM NEW.completed_at
       AND OLD.satisfaction IS NOT DISTINCT FROM NEW.satisfaction THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'completed' THEN
        PERFORM csrd_stat_add(OLD.completed_at, 0, 0, 0, -OLD.satisfaction, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'completed' THEN
        PERFORM csrd_stat_add(NEW.completed_at, 0, 0, 0, NEW.satisfaction, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER follow_ups_stats AFTER INSERT OR UPDATE OR DELETE ON follow_ups
    FOR EACH ROW EXECUTE FUNCTION csrd_follow_up_stats();

-- The whole summary again from the tables: at creation, and after a TRUNCATE of either table
-- (which fires no row triggers; TRUNCATE customers CASCADE reaches both).
CREATE FUNCTION csrd_stats_rebuild() RETURNS void
LANGUAGE sql
AS $$
DELETE FROM complaint_stats;
INSERT INTO complaint_stats (bucket, shard, created, breached_late, resolved, sat_sum, sat_n)
SELECT b, 0, sum(created), sum(late), sum(resolved), sum(sat_sum), sum(sat_n)
FROM (SELECT csrd_stat_bucket(created_at) AS b, 1 AS created, breached_late::integer AS late,
             0 AS resolved, 0 AS sat_sum, 0 AS sat_n FROM complaints
      UNION ALL
      SELECT csrd_stat_bucket(resolved_at), 0, 0, 1, 0, 0 FROM complaints WHERE resolved_at IS NOT NULL
      UNION ALL
      SELECT csrd_stat_bucket(completed_at), 0, 0, 0, satisfaction, 1 FROM follow_ups
      WHERE status = 'completed') x
GROUP BY b;
$$;
CREATE FUNCTION csrd_stats_truncated() RETURNS trigger
LANGUAGE plpgsql
AS $$ BEGIN PERFORM csrd_stats_rebuild(); RETURN NULL; END $$;
CREATE TRIGGER complaints_stats_truncate AFTER TRUNCATE ON complaints
    FOR EACH STATEMENT EXECUTE FUNCTION csrd_stats_truncated();
CREATE TRIGGER follow_ups_stats_truncate AFTER TRUNCATE ON follow_ups
    FOR EACH STATEMENT EXECUTE FUNCTION csrd_stats_truncated();
SELECT csrd_stats_rebuild();

-- open complaints by creation, for the breaches that depend on the clock
CREATE INDEX complaints_open_created_idx ON complaints (created_at)
    INCLUDE (first_responded_at, first_response_due_at, resolution_due_at, breached_late)
    WHERE status IN ('new', 'acknowledged', 'in_progress');

-- Per local bucket of the window [f, t): interval iv (day|week|month) in zone tz. The
-- 15-minute rows cover the aligned middle [lo, hi) of the window; its ragged ends [f, lo) and
-- [hi, t) (less than 15 minutes each) are read from the tables. breached = stopped late +
-- open past a deadline (counted live from the open complaints).
CREATE FUNCTION csrd_trend(f timestamptz, t timestamptz, iv text, tz text)
RETURNS TABLE (ls timestamp, created bigint, resolved bigint, breached bigint, sat_avg numeric)
LANGUAGE sql STABLE
AS $$
WITH e AS MATERIALIZED (
    SELECT CASE WHEN lo < hi THEN lo ELSE t END AS lo, CASE WHEN lo < hi THEN hi ELSE t END AS hi
    FROM (SELECT CASE WHEN csrd_stat_bucket(f) = f THEN f
                      ELSE csrd_stat_bucket(f) + interval '15 minutes' END AS lo,
                 csrd_stat_bucket(t) AS hi) x),
ends AS (SELECT f AS a, (SELECT lo FROM e) AS b UNION ALL SELECT (SELECT hi FROM e), t),
parts AS (
    SELECT s.bucket AS at, s.created, s.breached_late AS late, 0::bigint AS open_late, s.resolved,
           s.sat_sum, s.sat_n
    FROM complaint_stats s WHERE s.bucket >= (SELECT lo FROM e) AND s.bucket < (SELECT hi FROM e)
    UNION ALL
    SELECT c.created_at, 1, c.breached_late::integer, 0, 0, 0, 0
    FROM ends, LATERAL (SELECT * FROM complaints c WHERE c.created_at >= ends.a AND c.created_at < ends.b) c
    UNION ALL
    SELECT c.resolved_at, 0, 0, 0, 1, 0, 0
    FROM ends, LATERAL (SELECT * FROM complaints c WHERE c.resolved_at >= ends.a AND c.resolved_at < ends.b) c
    UNION ALL
    SELECT u.completed_at, 0, 0, 0, 0, u.satisfaction, 1
    FROM ends, LATERAL (SELECT * FROM follow_ups u WHERE u.status = 'completed'
                        AND u.completed_at >= ends.a AND u.completed_at < ends.b) u
    UNION ALL
    SELECT c.created_at, 0, 0, 1, 0, 0, 0 FROM complaints c
    WHERE c.status IN ('new', 'acknowledged', 'in_progress') AND c.created_at >= f AND c.created_at < t
      AND NOT c.breached_late
      AND ((c.first_responded_at IS NULL AND now() > c.first_response_due_at) OR now() > c.resolution_due_at))
SELECT date_trunc(iv, p.at AT TIME ZONE tz), sum(p.created)::bigint, sum(p.resolved)::bigint,
       (sum(p.late) + sum(p.open_late))::bigint,
       CASE WHEN sum(p.sat_n) > 0 THEN sum(p.sat_sum)::numeric / sum(p.sat_n) END
FROM parts p GROUP BY 1
$$;
