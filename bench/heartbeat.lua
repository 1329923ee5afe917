-- heartbeat.lua — wrk script for gprof-coordinator's POST /api/metrics/heartbeat: every request
-- is a gProfiler agent heartbeat (the exact body of the agent's HeartbeatClient) from one of
-- HOSTS distinct hosts (env BENCH_HOSTS, default 10,000), spread over the connections.
-- Usage: wrk -t2 -c64 -d15s --latency -s bench/heartbeat.lua http://127.0.0.1:PORT
-- Paced: BENCH_RATE=20000 BENCH_CONNS=64 makes each connection send one request per CONNS/RATE
-- seconds (wrk's delay()), so the server sees about RATE heartbeats a second instead of as many
-- as it can answer, and the latency is that of the asked-for load (the achieved rate is printed).
local hosts = tonumber(os.getenv("BENCH_HOSTS") or "10000")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local conns = tonumber(os.getenv("BENCH_CONNS") or "64")
local service = os.getenv("BENCH_SERVICE") or "bench"
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = tid * 7919
  wrk.method = "POST"
  wrk.path = "/api/metrics/heartbeat"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer bench"
end

function request()
  counter = counter + 1
  local h = counter % hosts
  local body = string.format(
    '{"ip_address": "10.%d.%d.%d", "hostname": "hb-host-%05d", "service_name": "%s", ' ..
    '"last_command_id": null, "status": "active", "timestamp": "2026-11-22T18:00:00.000000", ' ..
    '"received_command_ids": [], "executed_command_ids": []}',
    math.floor(h / 65536) % 256, math.floor(h / 256) % 256, h % 256, h, service)
  return wrk.format(nil, nil, nil, body)
end

if rate > 0 then
  -- Each connection sends every conns/rate seconds: its wait is that interval less the time the
  -- answer takes (~0.5 ms here), carried over in fractions because delay() takes whole ms.
  local wait, carry = conns * 1000 / rate - 0.5, 0
  function delay()
    carry = carry + wait
    local ms = math.floor(carry)
    carry = carry - ms
    return ms
  end
end

function done(summary, latency, requests)
  local errs = summary.errors.connect + summary.errors.read + summary.errors.write +
               summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT mode=heartbeat requests=%d seconds=%.2f rate=%.1f " ..
    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errs))
end
