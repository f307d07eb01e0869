-- SPDX-License-Identifier: Apache-2.0
-- Shared by the wrk scripts: done() prints one "BENCH {json}" line that bench/lib/loadgen.py reads.
local ffi = require("ffi")
local M = {}

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")

-- CLOCK_MONOTONIC in microseconds: the same clock in every thread.
function M.now_us()
   ffi.C.clock_gettime(1, ts)
   return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

-- Every thread's counters named in `names`, summed (threads were kept by setup()).
function M.sum(threads, names)
   local out = {}
   for _, n in ipairs(names) do
      out[n] = 0
   end
   for _, t in ipairs(threads) do
      for _, n in ipairs(names) do
         out[n] = out[n] + (t:get(n) or 0)
      end
   end
   return out
end

function M.print(summary, latency, extra)
   local e = summary.errors
   local parts = {}
   for k, v in pairs(extra or {}) do
      parts[#parts + 1] = string.format('"%s":%d', k, v)
   end
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"mean_us":%.1f,"p50_us":%d,' ..
      '"p90_us":%d,"p99_us":%d,"max_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d},"counters":{%s}}\n',
      summary.requests, summary.duration, summary.bytes, latency.mean,
      latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ",")))
end

return M
