-- SPDX-License-Identifier: Apache-2.0
-- Many end users' clients polling their continuity status with the ETag they hold
-- (BENCH_TARGETS = "token:etag;token:etag;…", etag the hex inside the quotes), taken in turn,
-- so that every request is another user's. Any answer other than 304 is counted (changed):
-- the figure is of conditional GETs that found nothing new.
local report = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local reqs = {}
local next_req = 1
changed = 0

function init(args)
   for token, etag in string.gmatch(os.getenv("BENCH_TARGETS"), "([%w%-_]+):(%x+)") do
      reqs[#reqs + 1] = wrk.format("GET", "/api/v1/me/continuity",
                                   { ["Authorization"] = "Bearer " .. token,
                                     ["If-None-Match"] = '"' .. etag .. '"' })
   end
   next_req = (tid * math.floor(#reqs / 2)) % #reqs + 1
end

function request()
   local r = reqs[next_req]
   next_req = next_req % #reqs + 1
   return r
end

function response(status, headers, body)
   if status ~= 304 then
      changed = changed + 1
   end
end

function done(summary, latency, requests)
   report.print(summary, latency, report.sum(threads, { "changed" }))
end
