-- API keys: an optional expiry, when each key was last used, and which admin key created and
-- revoked it (issue #10).
--   expires_at   NULL = never; from then on the token answers 401 (within the auth cache's
--                CSRD_AUTH_CACHE_MS, 1 s by default).
--   last_used_at written by the key lookup at most once a minute per key (not on every
--                request: the lookup itself runs at most once per CSRD_AUTH_CACHE_MS per key
--                and instance, and writes only when the stored time is a minute old). It is
--                not a change of the key: version and updated_at stay.
--   created_by_*, revoked_by_*: the admin key that did it, by id and by its name at the
--                time; NULL for the bootstrap key made from CSRD_ADMIN_TOKEN and for keys
--                created before this migration.
ALTER TABLE api_keys
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN created_by_id uuid,
    ADD COLUMN created_by_name text,
    ADD COLUMN revoked_by_id uuid,
    ADD COLUMN revoked_by_name text;

CREATE OR REPLACE FUNCTION api_key_json(k api_keys) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT json_build_object(
    'id', k.id, 'name', k.name, 'role', k.role, 'token_prefix', k.token_prefix,
    'version', k.version, 'created_at', csrd_ts(k.created_at),
    'updated_at', csrd_ts(k.updated_at), 'revoked_at', csrd_ts(k.revoked_at),
    'expires_at', csrd_ts(k.expires_at), 'last_used_at', csrd_ts(k.last_used_at),
    'created_by', CASE WHEN k.created_by_id IS NOT NULL
                       THEN json_build_object('id', k.created_by_id, 'name', k.created_by_name) END,
    'revoked_by', CASE WHEN k.revoked_by_id IS NOT NULL
                       THEN json_build_object('id', k.revoked_by_id, 'name', k.revoked_by_name) END) $$;
