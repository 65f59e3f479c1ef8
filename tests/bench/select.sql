\set k random(1, 100000)
SELECT customer_json(c)::text, c.version FROM customers c WHERE c.id = (SELECT id FROM bench_ids WHERE k = :k);
