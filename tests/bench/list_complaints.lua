-- wrk: GET /v1/complaints?status=in_progress&severity=high (first page, 50 records).
local token = os.getenv("CSRD_BENCH_TOKEN")
request = function()
  return wrk.format("GET", "/v1/complaints?status=in_progress&severity=high",
                    {["Authorization"] = "Bearer " .. token})
end
