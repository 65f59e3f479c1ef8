-- Foundation: API keys, the customer file, idempotency records, and the helpers that render
-- rows as the API's JSON. Constraints repeat the API's validation so that no bug in the
-- server can store a row the contract calls impossible.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- RFC 3339 UTC with milliseconds, the API's one timestamp format.
CREATE FUNCTION csrd_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- Timestamps are stored at the precision they are shown with, so that a value read from the
-- API and sent back as a filter selects exactly what it should.
CREATE FUNCTION csrd_now() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT date_trunc('milliseconds', now()) $$;

-- A JSON array of strings as text[]; anything else (absent, null) is the empty array.
CREATE FUNCTION csrd_text_array(j jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'array'
             THEN ARRAY(SELECT jsonb_array_elements_text(j)) ELSE '{}'::text[] END $$;

-- Money as the API shows it: {"amount": "120.50", "currency": "CNY"} or null.
CREATE FUNCTION csrd_money(amount numeric, currency text) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN amount IS NULL THEN NULL
             ELSE json_build_object('amount', amount::text, 'currency', currency) END $$;

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role         text NOT NULL CHECK (role IN ('viewer', 'agent', 'supervisor', 'admin')),
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    token_prefix text NOT NULL,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at   timestamptz NOT NULL DEFAULT csrd_now(),
    revoked_at   timestamptz
);
CREATE INDEX api_keys_created_idx ON api_keys (created_at, id);

CREATE FUNCTION api_key_json(k api_keys) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', k.id, 'name', k.name, 'role', k.role, 'token_prefix', k.token_prefix,
    'version', k.version, 'created_at', csrd_ts(k.created_at),
    'updated_at', csrd_ts(k.updated_at), 'revoked_at', csrd_ts(k.revoked_at)) $$;

CREATE TABLE customers (
    id                          uuid PRIMARY KEY,
    kind                        text NOT NULL CHECK (kind IN ('person', 'organization')),
    name                        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email                       text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    phone                       text CHECK (phone ~ '^\+[0-9 -]+$'),
    address                     jsonb CHECK (jsonb_typeof(address) = 'object'),
    tier                        text NOT NULL DEFAULT 'regular'
                                CHECK (tier IN ('vip', 'key', 'regular', 'minor')),
    value_segment               text CHECK (value_segment IN ('high', 'reasonable', 'low', 'loss')),
    size                        text CHECK (size IN ('large', 'medium', 'small')),
    status                      text NOT NULL DEFAULT 'active'
                                CHECK (status IN ('prospect', 'active', 'inactive', 'lost')),
    preferred_channel           text CHECK (preferred_channel IN
                                ('phone', 'email', 'sms', 'chat', 'web', 'visit', 'letter', 'social')),
    do_not_contact              boolean NOT NULL DEFAULT false,
    unavailable_times           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(unavailable_times) = 'array'),
    industry                    text,
    legal_representative        text,
    business_scope              text,
    registered_capital_amount   numeric CHECK (registered_capital_amount >= 0),
    registered_capital_currency char(3),
    credit_rating               text,
    credit_limit_amount         numeric CHECK (credit_limit_amount >= 0),
    credit_limit_currency       char(3),
    contacts                    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(contacts) = 'array'),
    birth_date                  date,
    occupation                  text,
    interests                   text[] NOT NULL DEFAULT '{}',
    source                      text,
    tags                        text[] NOT NULL DEFAULT '{}',
    notes                       text,
    external_ref                text UNIQUE,
    attributes                  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    archived_at                 timestamptz,
    version                     integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at                  timestamptz NOT NULL DEFAULT csrd_now(),
    updated_at                  timestamptz NOT NULL DEFAULT csrd_now(),
    -- what `q` searches: lower-cased name, email, phone (as typed and as bare digits),
    -- external_ref
    search                      text GENERATED ALWAYS AS (lower(
                                    name || ' ' || coalesce(email, '') || ' ' ||
                                    coalesce(phone, '') || ' ' ||
                                    coalesce(regexp_replace(phone, '[^0-9+]', '', 'g'), '') ||
                                    ' ' || coalesce(external_ref, ''))) STORED,
    CHECK ((registered_capital_amount IS NULL) = (registered_capital_currency IS NULL)),
    CHECK ((credit_limit_amount IS NULL) = (credit_limit_currency IS NULL))
);
CREATE INDEX customers_created_idx ON customers (created_at, id);
CREATE INDEX customers_updated_idx ON customers (updated_at, id);
CREATE INDEX customers_name_idx ON customers (name, id);
CREATE INDEX customers_tags_idx ON customers USING gin (tags);
CREATE INDEX customers_search_idx ON customers USING gin (search gin_trgm_ops);
CREATE INDEX customers_tier_idx ON customers (tier, created_at);
CREATE INDEX customers_city_idx ON customers ((address->>'city'));

CREATE FUNCTION customer_json(c customers) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', c.id, 'kind', c.kind, 'name', c.name, 'email', c.email, 'phone', c.phone,
    'address', c.address, 'tier', c.tier, 'value_segment', c.value_segment, 'size', c.size,
    'status', c.status, 'preferred_channel', c.preferred_channel,
    'do_not_contact', c.do_not_contact, 'unavailable_times', c.unavailable_times,
    'industry', c.industry, 'legal_representative', c.legal_representative,
    'business_scope', c.business_scope,
    'registered_capital', csrd_money(c.registered_capital_amount, c.registered_capital_currency),
    'credit_rating', c.credit_rating,
    'credit_limit', csrd_money(c.credit_limit_amount, c.credit_limit_currency),
    'contacts', c.contacts, 'birth_date', c.birth_date, 'occupation', c.occupation,
    'interests', c.interests, 'source', c.source, 'tags', c.tags, 'notes', c.notes,
    'external_ref', c.external_ref, 'attributes', c.attributes,
    'archived_at', csrd_ts(c.archived_at), 'version', c.version,
    'created_at', csrd_ts(c.created_at), 'updated_at', csrd_ts(c.updated_at)) $$;

-- Idempotency-Key records: the first response to a POST, replayed for 24 hours to the same
-- key holder sending the same request. The row is written in the transaction that made the
-- change, so a replay never reports something that was rolled back.
CREATE TABLE idempotency_keys (
    api_key_id   uuid NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    headers      text,        -- "Name: value" lines replayed with the body
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- A text taken literally inside a LIKE pattern.
CREATE FUNCTION csrd_like_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT replace(replace(replace(t, '\', '\\'), '%', '\%'), '_', '\_') $$;
