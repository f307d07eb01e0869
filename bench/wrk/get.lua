-- SPDX-License-Identifier: Apache-2.0
-- GET of one path with a bearer token (BENCH_TOKEN, BENCH_PATH), the same request every time.
local report = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local req

function init(args)
   req = wrk.format("GET", os.getenv("BENCH_PATH"),
                    { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") })
end

function request()
   return req
end

function done(summary, latency, requests)
   report.print(summary, latency)
end
