-- wrk (soak): 80 % GET of a known customer, 20 % POST of a new one tagged CSRD_SOAK_TAG.
-- Counts answers by class per thread; done() prints them as one line for run.sh.
local ids = {}
for line in io.lines(os.getenv("CSRD_BENCH_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("CSRD_BENCH_TOKEN")
local tag = os.getenv("CSRD_SOAK_TAG")
local threads = {}
local n = 0

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

function init()
  math.randomseed(os.time() + id)
  created, ok, unavailable, other = 0, 0, 0, 0
end

request = function()
  n = n + 1
  if math.random(5) == 1 then
    local body = string.format('{"kind":"person","name":"Soak %d-%d","tags":["%s"]}', id, n, tag)
    return wrk.format("POST", "/v1/customers", {["Authorization"] = "Bearer " .. token,
                      ["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/v1/customers/" .. ids[math.random(#ids)],
                    {["Authorization"] = "Bearer " .. token})
end

response = function(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 200 then ok = ok + 1
  elseif status == 503 then unavailable = unavailable + 1
  else
    other = other + 1
    if other <= 5 then io.stderr:write("SOAK-OTHER " .. status .. " " .. body:sub(1, 300) .. "\n") end
  end
end

done = function(summary, latency, requests)
  local c, o, u, x = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); o = o + t:get("ok"); u = u + t:get("unavailable")
    x = x + t:get("other")
  end
  io.write(string.format("SOAK created=%d ok=%d unavailable=%d other=%d\n", c, o, u, x))
end
