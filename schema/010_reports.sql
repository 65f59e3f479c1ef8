-- Reports (/v1/reports/...): the indexes their window scans need beyond the lists' own, and
-- the rounding rule every rate follows.

-- complaints resolved in a trend bucket
CREATE INDEX complaints_resolved_idx ON complaints (resolved_at) WHERE resolved_at IS NOT NULL;
-- satisfaction and NPS of the follow-ups completed in a window, read from the index alone
CREATE INDEX follow_ups_completed_idx ON follow_ups (completed_at) INCLUDE (satisfaction, nps)
    WHERE status = 'completed';

-- part / whole as a fraction rounded to 4 places; null when the whole is 0 (no rate exists)
CREATE FUNCTION csrd_rate(part bigint, whole bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN whole = 0 THEN NULL ELSE round(part::numeric / whole, 4)::float8 END $$;

-- a mean or median for people: 2 places, null stays null
CREATE FUNCTION csrd_round2(x numeric) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT round(x, 2)::float8 $$;
