-- wrk script: POST pre-signed LiveKit webhook deliveries, each line of $DELIVERIES once per
-- thread in turn (`<jwt>\t<body>`; benches/webhook_events.py writes them), from line
-- $START (0 by default) on, so successive runs can send deliveries not seen before; at most
-- $COUNT of them (all by default) before starting over.
-- Every request is formatted once, before the run: formatting each in `request()` cost wrk
-- more CPU per request than the server under test spent on it (docs/benchmarks.md).
local start = tonumber(os.getenv("START") or "0")
local count = tonumber(os.getenv("COUNT") or "0")
local requests = {}
local n = 0
for line in io.lines(os.getenv("DELIVERIES")) do
  n = n + 1
  if n > start then
    local jwt, body = line:match("^([^\t]+)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/webhook+json",
      ["Authorization"] = jwt,
    }, body)
    if #requests == count then break end
  end
end
local i = 0
local bad = 0

request = function()
  i = i + 1
  return requests[(i - 1) % #requests + 1]
end

response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", bad))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
