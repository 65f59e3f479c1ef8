-- wrk: GET /v1/customers/{random id} from ids.txt (one UUID per line).
local ids = {}
for line in io.lines(os.getenv("CSRD_BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("CSRD_BENCH_TOKEN")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/v1/customers/" .. ids[math.random(#ids)],
                    {["Authorization"] = "Bearer " .. token})
end
