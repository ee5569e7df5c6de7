-- wrk script: POST pre-signed LiveKit webhook deliveries, each line of $DELIVERIES once per
-- thread in turn (`<jwt>\t<body>`; benches/webhook_events.py writes them), from line
-- $START (0 by default) on, so successive runs can send deliveries not seen before.
local lines = {}
for line in io.lines(os.getenv("DELIVERIES")) do
  local jwt, body = line:match("^([^\t]+)\t(.*)$")
  lines[#lines + 1] = { jwt, body }
end
local i = tonumber(os.getenv("START") or "0")
local bad = 0

request = function()
  i = i + 1
  local d = lines[(i - 1) % #lines + 1]
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/webhook+json",
    ["Authorization"] = d[1],
  }, d[2])
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
