-- Service records: interactions, complaints with deadlines and history, follow-ups, and the
-- SLA policies that set complaint deadlines. Constraints encode the contract: enums, ranges,
-- the complaint workflow (trigger below), and composite foreign keys so that a record can
-- only point at a complaint or interaction of the same customer.

CREATE TABLE sla_policies (
    severity              text PRIMARY KEY CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    first_response_hours  numeric NOT NULL CHECK (first_response_hours > 0 AND first_response_hours <= 8760),
    resolution_hours      numeric NOT NULL CHECK (resolution_hours > 0 AND resolution_hours <= 8760),
    follow_up_after_hours numeric NOT NULL CHECK (follow_up_after_hours >= 0 AND follow_up_after_hours <= 8760),
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at            timestamptz NOT NULL DEFAULT csrd_now(),
    CHECK (resolution_hours >= first_response_hours)
);
INSERT INTO sla_policies (severity, first_response_hours, resolution_hours, follow_up_after_hours)
VALUES ('critical', 1, 24, 24), ('high', 4, 72, 24), ('medium', 24, 168, 24), ('low', 48, 336, 24);

CREATE FUNCTION sla_policy_json(p sla_policies) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'severity', p.severity, 'first_response_hours', p.first_response_hours,
    'resolution_hours', p.resolution_hours, 'follow_up_after_hours', p.follow_up_after_hours,
    'version', p.version, 'created_at', csrd_ts(p.created_at),
    'updated_at', csrd_ts(p.updated_at)) $$;

CREATE TABLE interactions (
    id               uuid PRIMARY KEY,
    customer_id      uuid NOT NULL REFERENCES customers (id),
    channel          text NOT NULL CHECK (channel IN
                     ('phone', 'email', 'sms', 'chat', 'web', 'visit', 'letter', 'social')),
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    purpose          text NOT NULL DEFAULT 'other' CHECK (purpose IN ('inquiry', 'consultation',
                     'purchase', 'support', 'complaint', 'suggestion', 'follow_up', 'other')),
    subject          text,
    body             text,
    occurred_at      timestamptz NOT NULL,
    duration_seconds integer CHECK (duration_seconds >= 0),
    agent            text,
    location         text,
    experience_score smallint CHECK (experience_score BETWEEN -3 AND 3),
    outcome          text,
    complaint_id     uuid,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at       timestamptz NOT NULL DEFAULT csrd_now(),
    UNIQUE (id, customer_id)
);
CREATE INDEX interactions_customer_idx ON interactions (customer_id, occurred_at, id);
CREATE INDEX interactions_occurred_idx ON interactions (occurred_at, id);
CREATE INDEX interactions_created_idx ON interactions (created_at, id);
CREATE INDEX interactions_complaint_idx ON interactions (complaint_id);

-- CMP-000001 ... CMP-999999, then CMP-1000000: a sequence, so unique under concurrency and
-- allowed to have gaps (a rolled-back create burns its number).
CREATE SEQUENCE complaint_number_seq;
CREATE FUNCTION csrd_next_complaint_number() RETURNS text
LANGUAGE sql VOLATILE
AS $$ SELECT 'CMP-' || lpad(n::text, greatest(6, length(n::text)), '0')
      FROM nextval('complaint_number_seq') AS n $$;

CREATE TABLE complaints (
    id                    uuid PRIMARY KEY,
    number                text NOT NULL UNIQUE DEFAULT csrd_next_complaint_number(),
    customer_id           uuid NOT NULL REFERENCES customers (id),
    channel               text NOT NULL CHECK (channel IN ('phone', 'email', 'sms', 'chat',
                          'web', 'visit', 'letter', 'social', 'referral')),
    category              text NOT NULL CHECK (category IN ('product_quality', 'service_attitude',
                          'delivery', 'billing', 'after_sales', 'other')),
    severity              text NOT NULL DEFAULT 'medium'
                          CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    subject               text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
    description           text,
    desired_outcome       text,
    status                text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'acknowledged',
                          'in_progress', 'resolved', 'rejected', 'closed')),
    assignee              text,
    response_channel      text NOT NULL CHECK (response_channel IN ('phone', 'email', 'sms',
                          'chat', 'web', 'visit', 'letter', 'social', 'referral')),
    first_response_due_at timestamptz NOT NULL,
    resolution_due_at     timestamptz NOT NULL,
    first_responded_at    timestamptz,
    resolved_at           timestamptz,
    rejected_at           timestamptz, -- internal: the end of the resolution clock for rejections
    closed_at             timestamptz,
    resolution            text,
    root_cause            text,
    compensation_amount   numeric CHECK (compensation_amount >= 0),
    compensation_currency char(3),
    escalation_level      smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 3),
    reopen_count          integer NOT NULL DEFAULT 0 CHECK (reopen_count >= 0),
    customer_satisfaction smallint CHECK (customer_satisfaction BETWEEN 1 AND 5),
    interaction_id        uuid,
    tags                  text[] NOT NULL DEFAULT '{}',
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at            timestamptz NOT NULL DEFAULT csrd_now(),
    -- deadlines missed by a first response or a resolution that did happen (the open cases
    -- depend on the clock and are found through the partial indexes below)
    breached_late         boolean GENERATED ALWAYS AS (
                              coalesce(first_responded_at > first_response_due_at, false) OR
                              coalesce(coalesce(resolved_at, rejected_at) > resolution_due_at, false)
                          ) STORED,
    UNIQUE (id, customer_id),
    CHECK ((compensation_amount IS NULL) = (compensation_currency IS NULL)),
    CONSTRAINT complaints_resolved_has_resolution
        CHECK (status <> 'resolved' OR resolution IS NOT NULL),
    FOREIGN KEY (interaction_id, customer_id) REFERENCES interactions (id, customer_id)
);
ALTER TABLE interactions ADD CONSTRAINT interactions_complaint_fkey
    FOREIGN KEY (complaint_id, customer_id) REFERENCES complaints (id, customer_id);
CREATE INDEX complaints_created_idx ON complaints (created_at, id);
CREATE INDEX complaints_updated_idx ON complaints (updated_at, id);
CREATE INDEX complaints_customer_idx ON complaints (customer_id, created_at, id);
CREATE INDEX complaints_status_idx ON complaints (status, severity, created_at, id);
CREATE INDEX complaints_assignee_idx ON complaints (assignee, created_at);
CREATE INDEX complaints_breached_late_idx ON complaints (created_at, id) WHERE breached_late;
CREATE INDEX complaints_open_response_idx ON complaints (first_response_due_at)
    WHERE first_responded_at IS NULL AND status = 'new';
CREATE INDEX complaints_open_resolution_idx ON complaints (resolution_due_at)
    WHERE resolved_at IS NULL AND status IN ('new', 'acknowledged', 'in_progress');

-- The workflow, in one place: which status may follow which, and the least role for it.
CREATE TABLE complaint_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    min_role    text NOT NULL CHECK (min_role IN ('agent', 'supervisor')),
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO complaint_transitions VALUES
    ('new', 'acknowledged', 'agent'), ('new', 'in_progress', 'agent'),
    ('new', 'rejected', 'supervisor'),
    ('acknowledged', 'in_progress', 'agent'), ('acknowledged', 'rejected', 'supervisor'),
    ('in_progress', 'resolved', 'agent'), ('in_progress', 'rejected', 'supervisor'),
    ('resolved', 'closed', 'supervisor'), ('resolved', 'in_progress', 'agent'),
    ('rejected', 'in_progress', 'supervisor'), ('rejected', 'closed', 'supervisor'),
    ('closed', 'in_progress', 'supervisor');

-- Defence in depth: even a buggy UPDATE cannot move a complaint along a path the table
-- does not list.
CREATE FUNCTION complaints_check_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> OLD.status AND NOT EXISTS (
        SELECT 1 FROM complaint_transitions WHERE from_status = OLD.status AND to_status = NEW.status)
    THEN
        RAISE EXCEPTION 'complaint % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'complaints_workflow';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER complaints_workflow BEFORE UPDATE OF status ON complaints
    FOR EACH ROW EXECUTE FUNCTION complaints_check_transition();

-- SLA state of one clock at read time: met/breached once stopped, else on_track, at_risk
-- (less than 25 % of the window left) or breached.
CREATE FUNCTION csrd_sla_state(started timestamptz, due timestamptz, stopped timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT CASE
    WHEN stopped IS NOT NULL THEN CASE WHEN stopped <= due THEN 'met' ELSE 'breached' END
    WHEN now() > due THEN 'breached'
    WHEN due - now() < (due - started) * 0.25 THEN 'at_risk'
    ELSE 'on_track' END $$;

CREATE FUNCTION complaint_json(c complaints) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', c.id, 'number', c.number, 'customer_id', c.customer_id, 'channel', c.channel,
    'category', c.category, 'severity', c.severity, 'subject', c.subject,
    'description', c.description, 'desired_outcome', c.desired_outcome, 'status', c.status,
    'assignee', c.assignee, 'response_channel', c.response_channel,
    'first_response_due_at', csrd_ts(c.first_response_due_at),
    'resolution_due_at', csrd_ts(c.resolution_due_at),
    'first_responded_at', csrd_ts(c.first_responded_at),
    'resolved_at', csrd_ts(c.resolved_at), 'closed_at', csrd_ts(c.closed_at),
    'sla', json_build_object(
        'first_response', csrd_sla_state(c.created_at, c.first_response_due_at,
                                         c.first_responded_at),
        'resolution', csrd_sla_state(c.created_at, c.resolution_due_at,
                                     coalesce(c.resolved_at, c.rejected_at))),
    'resolution', c.resolution, 'root_cause', c.root_cause,
    'compensation', csrd_money(c.compensation_amount, c.compensation_currency),
    'escalation_level', c.escalation_level, 'reopen_count', c.reopen_count,
    'customer_satisfaction', c.customer_satisfaction, 'interaction_id', c.interaction_id,
    'tags', c.tags, 'version', c.version, 'created_at', csrd_ts(c.created_at),
    'updated_at', csrd_ts(c.updated_at)) $$;

-- A complaint's history. `seq` is the order the changes were made in (they are serialised by
-- the complaint's row lock); `at` is the wall-clock time of each, so several events of one
-- transaction keep their order.
CREATE TABLE complaint_events (
    id           uuid PRIMARY KEY,
    seq          bigserial NOT NULL UNIQUE,
    complaint_id uuid NOT NULL REFERENCES complaints (id),
    customer_id  uuid NOT NULL REFERENCES customers (id), -- for the customer's timeline
    type         text NOT NULL CHECK (type IN ('created', 'updated', 'assignment', 'transition',
                 'reopen', 'escalation', 'follow_up_scheduled', 'follow_up_completed')),
    from_value   text,
    to_value     text,
    note         text,
    changes      jsonb,
    actor        text NOT NULL,
    actor_role   text NOT NULL,
    at           timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
);
CREATE INDEX complaint_events_complaint_idx ON complaint_events (complaint_id, seq);
CREATE INDEX complaint_events_customer_idx ON complaint_events (customer_id, at, id);

CREATE FUNCTION complaint_event_json(e complaint_events) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', e.id, 'complaint_id', e.complaint_id, 'type', e.type, 'from', e.from_value,
    'to', e.to_value, 'note', e.note, 'changes', e.changes, 'actor', e.actor,
    'actor_role', e.actor_role, 'at', csrd_ts(e.at)) $$;

CREATE TABLE follow_ups (
    id             uuid PRIMARY KEY,
    customer_id    uuid NOT NULL REFERENCES customers (id),
    complaint_id   uuid,
    interaction_id uuid,
    purpose        text NOT NULL DEFAULT 'other' CHECK (purpose IN
                   ('complaint_resolution', 'post_sale', 'periodic', 'other')),
    method         text NOT NULL CHECK (method IN ('phone', 'visit', 'email', 'sms', 'survey')),
    scheduled_at   timestamptz NOT NULL,
    assignee       text,
    status         text NOT NULL DEFAULT 'scheduled'
                   CHECK (status IN ('scheduled', 'completed', 'no_response', 'cancelled')),
    completed_at   timestamptz,
    satisfaction   smallint CHECK (satisfaction BETWEEN 1 AND 5),
    nps            smallint CHECK (nps BETWEEN 0 AND 10),
    issue_resolved boolean,
    comment        text,
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at     timestamptz NOT NULL DEFAULT csrd_now(),
    FOREIGN KEY (complaint_id, customer_id) REFERENCES complaints (id, customer_id),
    FOREIGN KEY (interaction_id, customer_id) REFERENCES interactions (id, customer_id),
    CHECK ((status = 'completed') = (satisfaction IS NOT NULL)),
    CHECK ((status IN ('completed', 'no_response')) = (completed_at IS NOT NULL))
);
CREATE INDEX follow_ups_scheduled_idx ON follow_ups (scheduled_at, id);
CREATE INDEX follow_ups_created_idx ON follow_ups (created_at, id);
CREATE INDEX follow_ups_due_idx ON follow_ups (scheduled_at, id) WHERE status = 'scheduled';
CREATE INDEX follow_ups_complaint_idx ON follow_ups (complaint_id);
CREATE INDEX follow_ups_customer_idx ON follow_ups (customer_id, (coalesce(completed_at, scheduled_at)), id);

CREATE FUNCTION follow_up_json(f follow_ups) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', f.id, 'customer_id', f.customer_id, 'complaint_id', f.complaint_id,
    'interaction_id', f.interaction_id, 'purpose', f.purpose, 'method', f.method,
    'scheduled_at', csrd_ts(f.scheduled_at), 'assignee', f.assignee, 'status', f.status,
    'overdue', f.status = 'scheduled' AND f.scheduled_at < now(),
    'completed_at', csrd_ts(f.completed_at), 'satisfaction', f.satisfaction, 'nps', f.nps,
    'issue_resolved', f.issue_resolved, 'comment', f.comment, 'version', f.version,
    'created_at', csrd_ts(f.created_at), 'updated_at', csrd_ts(f.updated_at)) $$;

CREATE FUNCTION interaction_json(i interactions) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', i.id, 'customer_id', i.customer_id, 'channel', i.channel, 'direction', i.direction,
    'purpose', i.purpose, 'subject', i.subject, 'body', i.body,
    'occurred_at', csrd_ts(i.occurred_at), 'duration_seconds', i.duration_seconds,
    'agent', i.agent, 'location', i.location, 'experience_score', i.experience_score,
    'outcome', i.outcome, 'complaint_id', i.complaint_id, 'version', i.version,
    'created_at', csrd_ts(i.created_at), 'updated_at', csrd_ts(i.updated_at)) $$;

-- How a resolved complaint's follow-up is made, from the channel it is answered on.
CREATE FUNCTION csrd_follow_up_method(channel text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE channel WHEN 'email' THEN 'email' WHEN 'sms' THEN 'sms'
    WHEN 'visit' THEN 'visit' WHEN 'chat' THEN 'survey' WHEN 'web' THEN 'survey'
    WHEN 'social' THEN 'survey' ELSE 'phone' END $$;
