-- SPDX-License-Identifier: Apache-2.0
-- Progress posts of many claimed executions (BENCH_TARGETS = "id:token;id:token;…") with a
-- site's token (BENCH_TOKEN), taken in turn so that concurrent posts update different rows.
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

function init(args)
   local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
   local n = 0
   for id, token in string.gmatch(os.getenv("BENCH_TARGETS"), "([%x%-]+):(%d+)") do
      n = n + 1
      local body = string.format('{"command":"Replicating messages",' ..
                                 '"latest_detail":"Inbox: %d of 10,000 items"}', n * 512)
      reqs[#reqs + 1] = wrk.format("POST", "/api/v1/worker/executions/" .. id .. "/progress",
                                   { ["Authorization"] = auth,
                                     ["Content-Type"] = "application/json",
                                     ["MSE-Fencing-Token"] = token }, body)
   end
   -- Threads start at different places of the list.
   next_req = (tid * math.floor(#reqs / 2)) % #reqs + 1
end

function request()
   local r = reqs[next_req]
   next_req = next_req % #reqs + 1
   return r
end

function done(summary, latency, requests)
   report.print(summary, latency)
end
