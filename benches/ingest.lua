-- wrk script: every request a fresh submission (a unique submission_id) to
-- the demo survey, with answers that vary over the demographic cells.
--   wrk -t2 -c64 -d20s -s benches/ingest.lua http://127.0.0.1:8080
local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

function init(args)
  -- Random per process: two wrk processes started together send different ids.
  local urandom = io.open("/dev/urandom", "rb")
  local b1, b2, b3 = urandom:read(3):byte(1, 3)
  urandom:close()
  run = (b1 * 256 + b2) * 256 + b3
  count = 0
end

local accounts = {"active", "deleted", "never"}
local ages = {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"}
local regions = {"central", "northwest", "south", "north_caucasus", "volga", "ural", "siberia", "far_east"}
local settlements = {"city", "town", "village"}

local function pick(list, n)
  return list[(n % #list) + 1]
end

request = function()
  count = count + 1
  local n = count * 7919 + thread_number * 104729
  local id = string.format("%08x-%04x-4%03x-8%03x-%012x", count, run % 0x10000, thread_number,
    math.floor(run / 0x10000), n)
  local body = string.format(
    '{"submission_id":"%s","answers":{"portal_account":"%s","portal_trust":%d,' ..
    '"leak_worry":%d,"concerns":["data_leak"],"age_band":"%s","region":"%s","settlement":"%s"}}',
    id, pick(accounts, n), 1 + n % 5, 1 + math.floor(n / 5) % 5, pick(ages, math.floor(n / 3)),
    pick(regions, math.floor(n / 7)), pick(settlements, math.floor(n / 11)))
  return wrk.format("POST", "/api/v1/surveys/digital-trust/responses",
    {["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
  io.write(string.format("wrk: %d requests, %.0f req/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms, non-2xx %d, socket errors %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
