\set k random(1, 100000)
SELECT * FROM customers WHERE id = (SELECT id FROM bench_ids WHERE k = :k);
