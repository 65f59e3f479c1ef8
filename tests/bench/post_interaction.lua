-- wrk: POST /v1/interactions for a random customer from ids.txt.
local ids = {}
for line in io.lines(os.getenv("CSRD_BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("CSRD_BENCH_TOKEN")
math.randomseed(os.time() + 1)
request = function()
  local body = string.format(
    '{"customer_id":"%s","channel":"phone","direction":"inbound","purpose":"support","subject":"Bench call","experience_score":1}',
    ids[math.random(#ids)])
  return wrk.format("POST", "/v1/interactions",
                    {["Authorization"] = "Bearer " .. token,
                     ["Content-Type"] = "application/json"}, body)
end
