-- Webhooks: registrations, and one delivery row per (webhook, change-feed entry) it wants.
-- The change feed is the outbox (written in the transaction of each change); a delivery job
-- on every csrd instance copies new feed entries below the horizon into deliveries (the
-- unique key makes that idempotent across instances), then claims due deliveries with a
-- short lease (FOR UPDATE SKIP LOCKED, never two instances on one delivery) and sends them
-- outside any transaction. A webhook's deliveries go out in seq order: a pending one holds
-- back the later ones.
CREATE TABLE webhooks (
    id            uuid PRIMARY KEY,
    url           text NOT NULL CHECK (url ~ '^https?://'),
    events        text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
    description   text,
    active        boolean NOT NULL DEFAULT true,
    -- the signing key: csrd must know it to sign, so it is stored (readable by csrd's role
    -- only), shown once at creation, never in idempotency records or responses afterwards
    secret        text NOT NULL,
    fed_up_to     bigint NOT NULL,           -- feed entries below this are in deliveries
    failing_since timestamptz,               -- first failure of the current failing streak
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at    timestamptz NOT NULL DEFAULT csrd_now()
);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    event           text NOT NULL,
    entity          text NOT NULL,
    entity_id       uuid NOT NULL,
    at              timestamptz NOT NULL,
    data            jsonb,      -- the record when the delivery was queued (null once deleted)
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    first_attempt_at timestamptz,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT csrd_now(),
    UNIQUE (webhook_id, seq)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (webhook_id, seq)
    WHERE status = 'pending';

CREATE FUNCTION webhook_json(w webhooks) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', w.id, 'url', w.url, 'events', w.events, 'description', w.description,
    'active', w.active, 'failing_since', csrd_ts(w.failing_since), 'version', w.version,
    'created_at', csrd_ts(w.created_at), 'updated_at', csrd_ts(w.updated_at)) $$;

CREATE FUNCTION webhook_delivery_json(d webhook_deliveries) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', d.id, 'seq', d.seq, 'event', d.event, 'entity', d.entity, 'entity_id', d.entity_id,
    'status', d.status, 'attempts', d.attempts, 'last_status_code', d.last_status_code,
    'last_error', d.last_error,
    'next_attempt_at', CASE WHEN d.status = 'pending' THEN csrd_ts(d.next_attempt_at) END,
    'delivered_at', csrd_ts(d.delivered_at), 'created_at', csrd_ts(d.created_at)) $$;
