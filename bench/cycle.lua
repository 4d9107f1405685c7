-- cycle.lua -- wrk script: every request a new signed event.
--
--   wrk -t T -c C -d D -s cycle.lua URL -- SETFILE THREADS [cycle|once [LIMIT [MARK]]]
--
-- SETFILE is written by gen.py (see there for its layout). wrk runs one Lua
-- state per thread, so the threads share nothing: thread k of THREADS
-- (THREADS must equal wrk's -t) takes the k-th of THREADS equal blocks of
-- records, and its connections take turns on that block. No id is sent
-- twice unless a thread runs off the end of its block; it then starts over
-- (the targets answer duplicates) and counts a wrap, which bench/run
-- treats as a failed measurement for the targets that remember ids.
--
-- The records are read from the file in chunks as they are needed: wrk
-- starts each thread as soon as its init() returns, and times the run from
-- when the last one has, so a slow init() would let the first thread
-- send before the clock starts.
--
-- LIMIT: use only the first LIMIT records of the file.
--
-- "once": each thread sends its slice once and stops when all of it has
-- been answered (for the commands test, which needs an exact count of
-- events). Connections that ask for more meanwhile fetch /index.html (a static
-- file of the server, answered 200), so an event's answer is told apart
-- by its status: 202, or an error. Only in this mode is response()
-- defined: wrk skips parsing answers when it is nil. wrk itself runs on
-- until -d or SIGINT: with MARK, each thread creates the file MARK.<k>
-- when it is done, for bench/run to wait on.
--
-- done() prints one machine-readable line, "BENCH key=value ...", that
-- bench/run reads; latencies are in microseconds.

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("tid", #threads - 1)
end

local CHUNK = 2048		-- records read at a time
local f, a, b, reclen, head, filler
local lo		-- offset in the file of this thread's first record
local chunk, chunk_first, chunk_end = "", 0, 0
-- globals, so that done() can read them with thread:get()
n, sent, wraps = 0, 0, 0

function init(args)
	f = assert(io.open(args[1], "rb"))
	local nth = tonumber(args[2])
	local count, ts, la, lb, rl = f:read("*l"):match(
	    "^hookgate%-bench%-set 1 (%d+) (%d+) (%d+) (%d+) (%d+)$")
	assert(count, "not a hookgate-bench-set file: " .. args[1])
	count, reclen = tonumber(count), tonumber(rl)
	if args[4] then count = math.min(count, tonumber(args[4])) end
	a = f:read("*l")
	b = f:read("*l")
	assert(#a == tonumber(la) and #b == tonumber(lb), "damaged set file")
	local per = math.floor(count / nth)
	n = (tid == nth - 1) and (count - tid * per) or per
	assert(n > 0, "fewer records than threads")
	lo = f:seek() + tid * per * reclen
	local host = wrk.host .. (wrk.port and (":" .. wrk.port) or "")
	head = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. host ..
	    "\r\nContent-Type: application/json\r\nContent-Length: " ..
	    (#a + 28 + #b) .. "\r\nwebhook-timestamp: " .. ts ..
	    "\r\nwebhook-id: "
	if args[3] == "once" then
		filler = "GET /index.html HTTP/1.1\r\nHost: " .. host .. "\r\n\r\n"
		local answered, mark = 0, args[5]
		response = function(status)
			if status ~= 200 then answered = answered + 1 end
			if answered >= n then
				if mark then assert(io.open(mark .. "." .. tid, "w")):close() end
				wrk.thread:stop()
			end
		end
	end
end

local verified = false

function request()
	-- wrk calls request() once on the first thread before it starts, to
	-- check what it returns: answer that call without using up an event.
	if not verified then
		verified = true
		if tid == 0 then return filler or "GET / HTTP/1.1\r\n\r\n" end
	end
	local i = sent
	if i >= n then
		if filler then return filler end
		wraps = wraps + 1
		i = 0
	end
	if i < chunk_first or i >= chunk_end then
		local k = math.min(CHUNK, n - i)
		f:seek("set", lo + i * reclen)
		chunk = f:read(k * reclen)
		chunk_first, chunk_end = i, i + k
	end
	sent = i + 1
	local o = (i - chunk_first) * reclen + 1
	local id = chunk:sub(o, o + 27)
	return head .. id .. "\r\nwebhook-signature: v1," ..
	    chunk:sub(o + 29, o + 72) .. "\r\nX-Hub-Signature-256: sha256=" ..
	    chunk:sub(o + 74, o + 137) .. "\r\n\r\n" .. a .. id .. b
end

function done(summary, latency)
	local w, s = 0, 0
	for _, t in ipairs(threads) do
		w = w + (t:get("wraps") or 0)
		s = s + ((t:get("wraps") or 0) > 0 and t:get("n") or t:get("sent") or 0)
	end
	local e = summary.errors
	io.write(string.format(
	    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d " ..
	    "max_us=%d status_errors=%d socket_errors=%d timeouts=%d " ..
	    "wraps=%d distinct=%d\n",
	    summary.requests, summary.duration,
	    summary.requests / summary.duration * 1e6,
	    latency:percentile(50), latency:percentile(99), latency.max,
	    e.status, e.connect + e.read + e.write, e.timeout, w, s))
end
