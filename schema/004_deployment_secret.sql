-- A random value per deployment (per database), shared by every csrd instance that uses it:
-- the key that signs list cursors is derived from it, so a cursor made by one instance is
-- accepted by the others and one edited by hand is refused. 244 random bits from
-- gen_random_uuid (the server's strong random source), hashed into one hex string.
CREATE TABLE csrd_secrets (
    name text PRIMARY KEY,
    value text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO csrd_secrets (name, value)
VALUES ('cursor', encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text
                                           || clock_timestamp()::text, 'UTF8')), 'hex'));
