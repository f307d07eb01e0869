-- SPDX-License-Identifier: Apache-2.0
-- A claimer per wrk thread (run with as many connections as threads): claim an execution,
-- complete it, again, until a claim answers 204 (queue empty); then the thread stops. wrk
-- itself runs until its duration or SIGINT, so the busy time is measured here: from the
-- threads' start to the last completion. BENCH_TOKEN is a site's token.
local report = dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

-- The string value of a key of the top-level object of a JSON text (nil if absent).
-- Strings are skipped as wholes, so nested objects' keys and escaped quotes do not confuse it.
local function top_level(body, key)
   local depth, i, n = 0, 1, #body
   local want = '"' .. key .. '"'
   while i <= n do
      local c = body:sub(i, i)
      if c == '"' then
         local j = i + 1
         while true do
            local q = body:find('["\\]', j)
            if not q then return nil end
            if body:sub(q, q) == "\\" then
               j = q + 2
            else
               j = q
               break
            end
         end
         if depth == 1 and body:sub(i, j) == want then
            local v = body:match('^%s*:%s*"([^"]*)"', j + 1)
            local num = body:match('^%s*:%s*(%d+)', j + 1)
            return v or num
         end
         i = j + 1
      else
         if c == "{" or c == "[" then
            depth = depth + 1
         elseif c == "}" or c == "]" then
            depth = depth - 1
         end
         i = i + 1
      end
   end
   return nil
end

local auth, claim_req
local held_id, held_token
claims, completes, failures = 0, 0, 0
t_first, t_last = 0, 0

function init(args)
   t_first = report.now_us()
   t_last = t_first
   auth = "Bearer " .. os.getenv("BENCH_TOKEN")
   claim_req = wrk.format("POST", "/api/v1/worker/claims",
                          { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
                          string.format('{"worker_id":"bench-claimer-%d"}', tid))
end

function request()
   if held_id then
      return wrk.format("POST", "/api/v1/worker/executions/" .. held_id .. "/complete",
                        { ["Authorization"] = auth, ["MSE-Fencing-Token"] = held_token })
   end
   return claim_req
end

function response(status, headers, body)
   if held_id then
      if status == 200 then
         completes = completes + 1
         t_last = report.now_us()
      else
         failures = failures + 1
      end
      held_id = nil
      return
   end
   if status == 204 then
      wrk.thread:stop()
   elseif status == 200 then
      held_id = top_level(body, "id")
      held_token = top_level(body, "fencing_token")
      if held_id and held_token then
         claims = claims + 1
      else
         failures = failures + 1
         held_id = nil
      end
   else
      failures = failures + 1
   end
end

function done(summary, latency, requests)
   local first, last = math.huge, 0
   for _, t in ipairs(threads) do
      first = math.min(first, t:get("t_first"))
      last = math.max(last, t:get("t_last"))
   end
   local k = report.sum(threads, { "claims", "completes", "failures" })
   k.busy_us = math.floor(last - first)
   report.print(summary, latency, k)
end
