-- wrk script of bench/queue_bench.py: rotates request bodies and checks every response.
--
--   wrk -c16 -d15s --latency -s bench/wrk_lookup.lua http://127.0.0.1:PORT/graphql -- BODIES PATTERN
--   wrk -c16 -d15s --latency -s bench/wrk_lookup.lua http://127.0.0.1:PORT/livez -- - PATTERN
--
-- BODIES: a file with one request body a line (POSTed as JSON, in turn; each thread
-- starts at another line), or "-" for plain GETs. PATTERN: a Lua pattern every good
-- response body matches (e.g. '"queueNumber":%d'). A response that is not 200 counts as
-- bad_status, a 200 without the pattern as missing. At the end one line
-- "BENCH {json}" carries the figures (latencies in microseconds) for the Python side.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

bodies = {}
position = 1
pattern = nil
bad_status = 0
missing = 0

function init(args)
  local path = args[1]
  pattern = args[2]
  if path ~= nil and path ~= "-" then
    for line in io.lines(path) do
      if line ~= "" then
        table.insert(bodies, line)
      end
    end
    position = ((thread_number or 1) * 7919) % #bodies + 1
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
end

function request()
  if #bodies == 0 then
    return wrk.format()
  end
  local body = bodies[position]
  position = position % #bodies + 1
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif pattern ~= nil and not string.find(body, pattern) then
    missing = missing + 1
  end
end

function done(summary, latency, requests)
  local bad, miss = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("bad_status")
    miss = miss + thread:get("missing")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"bad_status":%d,"missing":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, bad, miss, e.connect, e.read, e.write, e.timeout, e.status))
end
