-- The complaint work queue (GET /v1/complaints?status=S&severity=V, no other filter): its
-- query runs inside a function that keeps one generic plan per connection. As a prepared
-- statement of its own, PostgreSQL chose a custom plan for every execution (the generic
-- plan's row estimate for an average status and severity looks dearer than a custom one for
-- the actual pair), and planning it, with complaint_json inlined, took 1.3-2.5 ms: longer
-- than running it. The generic plan is the same index scan for every pair.
CREATE FUNCTION csrd_complaint_queue(p_status text, p_severity text, p_at timestamptz,
                                     p_id uuid, p_limit int, p_desc boolean)
RETURNS TABLE (json text, created_at text, id uuid)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    IF p_desc THEN
        RETURN QUERY
        SELECT complaint_json(c)::text, c.created_at::text, c.id FROM complaints c
        WHERE c.status = p_status AND c.severity = p_severity
          AND (c.created_at, c.id) < (coalesce(p_at, 'infinity'),
                                      coalesce(p_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
        ORDER BY c.created_at DESC, c.id DESC LIMIT p_limit;
    ELSE
        RETURN QUERY
        SELECT complaint_json(c)::text, c.created_at::text, c.id FROM complaints c
        WHERE c.status = p_status AND c.severity = p_severity
          AND (c.created_at, c.id) > (coalesce(p_at, '-infinity'),
                                      coalesce(p_id, '00000000-0000-0000-0000-000000000000'))
        ORDER BY c.created_at ASC, c.id ASC LIMIT p_limit;
    END IF;
END $$;
