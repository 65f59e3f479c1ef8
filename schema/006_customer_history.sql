-- Field-level history of the customer file (GET /v1/customers/{id}/history): every create,
-- update and archive with the fields it changed ({"field": {"from": old, "to": new}}) and
-- the API key that made it, written in the transaction of the change.
CREATE TABLE customer_history (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigserial NOT NULL UNIQUE,
    customer_id uuid NOT NULL REFERENCES customers (id),
    action      text NOT NULL CHECK (action IN ('created', 'updated', 'archived')),
    changes     jsonb NOT NULL,
    actor       text NOT NULL,
    actor_role  text NOT NULL,
    at          timestamptz NOT NULL DEFAULT csrd_now()
);
CREATE INDEX customer_history_customer_idx ON customer_history (customer_id, seq);

CREATE FUNCTION customer_history_json(h customer_history) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', h.id, 'action', h.action, 'changes', h.changes, 'actor', h.actor,
    'actor_role', h.actor_role, 'at', csrd_ts(h.at)) $$;
