\set n random(1, 100000)
SELECT customer_json(c)::text, c.version FROM customers c WHERE c.external_ref = 'bench-' || :n;
