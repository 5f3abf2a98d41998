-- wrk script for bench/burst.py: counts answers by status across threads, and with
-- FRESH=1 gives every /goals request its own as_of so that none is served from the memo.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} ; n = 0 end
function request()
  n = n + 1
  if wrk.path:find("goals") and os.getenv("FRESH") then
    local stamp = string.format("%06d", n) .. string.format("%09d", math.random(0, 999999999))
    return wrk.format(nil, wrk.path .. "?as_of=2024-03-01T10:00:00." .. stamp:sub(1, 6) .. "%2B08:00&r=" .. stamp)
  end
  return wrk.format(nil, wrk.path)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %d %d\n", k, v)) end
  io.write(string.format("p50 %.2f p95 %.2f p99 %.2f max %.2f\n", latency:percentile(50)/1000, latency:percentile(95)/1000, latency:percentile(99)/1000, latency.max/1000))
  io.write(string.format("errors connect %d read %d write %d timeout %d status %d\n", summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end
