-- Ranking for `q` on customers: an exact substring match (which is how short CJK fragments
-- match at all) counts as a perfect score, otherwise the trigram word similarity.
CREATE FUNCTION csrd_relevance(q text, search text) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN strpos(search, q) > 0 THEN 1::real
             ELSE word_similarity(q, search) END $$;
