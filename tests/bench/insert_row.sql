\set n random(1, 1000000000)
INSERT INTO customers (id, kind, name, email, phone, address, tier, tags)
VALUES (gen_random_uuid(), 'person', 'Bench ' || :n, 'b' || :n || '@example.com', NULL, NULL, 'regular', ARRAY['bench']);
