-- wrk script, a drop-in superset of the shared harness's lib/wrk-report.lua:
--   * adds "Authorization: Bearer $BENCH_TOKEN" (when set) and prints one "WRKJSON {...}" line at the end
--     (latencies in microseconds), exactly like wrk-report.lua;
--   * and, when a token list exists for the target port, sends a different token on every request,
--     cycling through the list (cache misses). The list is looked up, in this order:
--       $BENCH_TOKENS_FILE                          (bench/run.ts uses this), or
--       $BENCH_ROTATE_DIR/rotate-<port>.txt          (written by `MODE=miss bench/candidate.sh`;
--                                                     lets one harness run mix rotating and fixed tokens)
--     one token per line. Requests are pre-formatted once, so the per-request Lua cost is a table lookup.
-- Without either file the script is static (no request() function) and behaves like wrk-report.lua.
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local function token_file()
  local f = os.getenv("BENCH_TOKENS_FILE")
  if f ~= nil and f ~= "" then return f end
  local dir = os.getenv("BENCH_ROTATE_DIR")
  if dir ~= nil and dir ~= "" then return dir .. "/rotate-" .. tostring(wrk.port) .. ".txt" end
  return nil
end

local path = token_file()
local fh = path and io.open(path, "r")
if fh then
  local tokens = {}
  for line in fh:lines() do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
  fh:close()
  if #tokens > 0 then
    local requests = nil
    local i = 0
    init = function(args)
      requests = {}
      for k, t in ipairs(tokens) do
        wrk.headers["Authorization"] = "Bearer " .. t
        requests[k] = wrk.format(nil, nil, wrk.headers)
      end
    end
    request = function()
      i = i % #requests + 1
      return requests[i]
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"bytes":%d,"rps":%.1f,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,"stdev_us":%.1f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, secs, summary.bytes, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, latency.stdev,
    e.connect, e.read, e.write, e.status, e.timeout))
end
