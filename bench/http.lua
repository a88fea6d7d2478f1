-- bench/http.lua — wrk's script for `scripts/bench http` (bench/http.bash).
--
--   wrk -t2 -c8 -d10s -s bench/http.lua URL -- MODE TOKENS_FILE RUN_PREFIX SECONDS
--
-- MODE `charge`: POST /billing/charges {"agent": "bench_agent", "run_id": …}, run ids
-- PREFIX-THREAD-N (a counter of each thread), so no request is a replay. MODE `wallet`:
-- GET /billing/wallet. Every request carries the next of the tokens (one a line of
-- TOKENS_FILE), each thread starting at its own place in the rotation.
--
-- Every connection sends for SECONDS, then waits idle (delay()) until wrk stops a
-- little later: the requests in flight at the deadline get their answers, so nothing
-- the server did goes uncounted (a charge committed whose 201 wrk never read). wrk's
-- latency statistics only hold the timed requests; the rate is answers over the time
-- from the first request to the last answer (a monotonic clock through LuaJIT's FFI,
-- since wrk's own duration includes the idle tail).
--
-- done() prints one line, `http-bench …`, with the answers counted by status and the
-- requests sent: bench/http.bash fails the run on any answer but the expected one, on
-- a socket error, or on a request sent and never answered.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } strata_timespec;
  int clock_gettime(int clock_id, strata_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("strata_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

-- Main thread: number the threads, keep them for done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

-- Each thread (its own Lua state): the arguments, the tokens, the counters.
function init(args)
  mode, tokens_file, prefix, seconds = args[1], args[2], args[3], tonumber(args[4])
  assert(mode == "charge" or mode == "wallet", "MODE must be charge or wallet")
  assert(seconds and seconds > 0, "SECONDS must be a positive number")
  tokens = {}
  for line in io.lines(tokens_file) do
    if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
  end
  assert(#tokens > 0, "no tokens in " .. tokens_file)
  sent, answered, first_sent, last_answer = 0, 0, 0, 0
  expected, other, other_status = 0, 0, 0
  -- Threads start apart in the rotation, so they do not charge the same wallets in step.
  position = math.floor((thread_number - 1) * #tokens / 2)
  deadline = nil
  -- wrk 4 builds one request of the first thread's script right after this init, to
  -- check its shape (script_verify_request), and never sends it: not counted.
  building_for_wrk = thread_number == 1
  charge_headers = { ["Content-Type"] = "application/json" }
  wallet_headers = {}
end

function request()
  if building_for_wrk then
    building_for_wrk = false
    return wrk.format("GET", "/health")
  end
  local t = now()
  if deadline == nil then
    deadline = t + seconds
    first_sent = t
  end
  sent = sent + 1
  position = position % #tokens + 1
  if mode == "charge" then
    charge_headers["Authorization"] = tokens[position]
    local body = string.format('{"agent":"bench_agent","run_id":"%s-%d-%d"}', prefix, thread_number, sent)
    return wrk.format("POST", "/billing/charges", charge_headers, body)
  end
  wallet_headers["Authorization"] = tokens[position]
  return wrk.format("GET", "/billing/wallet", wallet_headers)
end

function response(status, headers, body)
  answered = answered + 1
  last_answer = now()
  if (mode == "charge" and status == 201) or (mode == "wallet" and status == 200) then
    expected = expected + 1
  else
    other = other + 1
    other_status = status
  end
end

-- After each answer: the next request at once until the deadline, then none (an hour's
-- delay, far beyond wrk's -d).
function delay()
  if deadline ~= nil and now() >= deadline then return 3600000 end
  return 0
end

function done(summary, latency, requests)
  local mode = threads[1]:get("mode")
  local sent_all, answered_all, expected_all, other_all, status = 0, 0, 0, 0, 0
  local first, last = math.huge, 0
  for _, thread in ipairs(threads) do
    sent_all = sent_all + thread:get("sent")
    answered_all = answered_all + thread:get("answered")
    expected_all = expected_all + thread:get("expected")
    other_all = other_all + thread:get("other")
    if thread:get("other") > 0 then status = thread:get("other_status") end
    local f, l = thread:get("first_sent"), thread:get("last_answer")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
  end
  local elapsed = last > first and last - first or 0
  local errors = summary.errors
  io.write(string.format(
    "http-bench mode %s sent %d answered %d expected %d other %d other_status %d "
      .. "connect %d read %d write %d timeout %d non2xx %d seconds %.3f rate %.1f p50_us %d p90_us %d p99_us %d max_us %d\n",
    mode, sent_all, answered_all, expected_all, other_all, status,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    elapsed, elapsed > 0 and answered_all / elapsed or 0,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
