-- wrk script: what readers ask for, mixed: weighted series as JSON, charts
-- at sizes nobody asked for before (each one drawn anew), dashboard views.
--   wrk -t1 -c48 -d60s -s benches/mixed_reads.lua http://127.0.0.1:8080
local questions = {"portal_trust", "leak_worry", "evote_intent"}
local breakdowns = {"region", "settlement", "age_band"}
local intervals = {"week", "month"}
local count = 0

request = function()
  count = count + 1
  local q = questions[math.random(#questions)]
  local by = breakdowns[math.random(#breakdowns)]
  local interval = intervals[math.random(#intervals)]
  local kind = count % 3
  local path
  if kind == 0 then
    path = string.format("/api/v1/surveys/digital-trust/series?question=%s&by=%s&interval=%s", q, by, interval)
  elseif kind == 1 then
    path = string.format("/charts/digital-trust/%s.png?by=%s&interval=%s&width=%d&height=%d",
      q, by, interval, math.random(320, 2400), math.random(320, 1200))
  else
    path = string.format("/d/digital-trust?question=%s&by=%s&interval=%s", q, by, interval)
  end
  return wrk.format("GET", path)
end
