-- wrk: GET /v1/customers/{CSRD_BENCH_HEAVY}/timeline (first page of a 100,000-item history).
local token = os.getenv("CSRD_BENCH_TOKEN")
local path = "/v1/customers/" .. os.getenv("CSRD_BENCH_HEAVY") .. "/timeline"
request = function()
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
