\set k random(1, 100000)
-- the lookup as csrd ran it until it rendered customers itself (customer_json in PostgreSQL)
SELECT customer_json(c)::text, c.version FROM customers c WHERE c.id = (SELECT id FROM bench_ids WHERE k = :k);
