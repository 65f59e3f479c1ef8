-- wrk: POST /v1/customers with a small, varying body.
local token = os.getenv("CSRD_BENCH_TOKEN")
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"kind":"person","name":"Bench %d","email":"b%d@example.com","tier":"regular","tags":["bench"]}',
    n, n)
  return wrk.format("POST", "/v1/customers",
                    {["Authorization"] = "Bearer " .. token,
                     ["Content-Type"] = "application/json"}, body)
end
