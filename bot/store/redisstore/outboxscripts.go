package redisstore

import "github.com/redis/go-redis/v9"

// The outbox scripts. Each works in one bucket (layout.go): every key it
// touches starts with the bucket's tag, which it gets as ARGV[1] and
// builds keys from, so that Redis Cluster runs it on the node of that
// bucket's slot. KEYS[1] names a key of the bucket, for routing.
//
// A job is one string (see jobValue): the fields the scripts read and
// change (s status, w worker, a attempts, c claimed at, l lease until, r
// reason, u updated at, i the SID, k the cohort's code, ds and de the
// furthest delivery status Twilio reported and its error code, g when a
// claim passed the send fence, empty before: a job written before the
// fence existed has no g, and reads as empty), separated
// by the unit separator 0x1F, then the record separator 0x1E, then what Go
// writes, in the compact form of encodeJob. One string keeps a job at a
// few hundred bytes; a hash with a long field takes three times that.
//
// In a bucket: jd holds the jobs a claim may take (queued ones scored by
// their due time, claimed ones by the end of their lease, in microseconds
// since 1970); ja every job and jc:<code> a cohort's jobs, by due time,
// for listing; jf the jobs that ended, by the time they did (ms), for
// retention; jn and jn:<code> how many jobs (all, the cohort's) are in each
// status.

// outboxLua holds the helpers of the scripts: load and save read and write
// a job's fields (f.s, f.w, … as above) and its Go part; outcome maps the
// furthest delivery status of a sent job to its status and reason, as
// schedule.Outcome does in Go; count moves a job from one status to
// another in the counts; ended says whether a status is final; index files
// a job under a score in the listing sets.
const outboxLua = `
local names = {'s', 'w', 'a', 'c', 'l', 'r', 'u', 'i', 'k', 'ds', 'de', 'g'}
local function parse(raw)
  local cut = string.find(raw, '\30', 1, true)
  local f, n = {}, 1
  for part in string.gmatch(string.sub(raw, 1, cut - 1) .. '\31', '([^\31]*)\31') do
    f[names[n]] = part
    n = n + 1
  end
  return f, string.sub(raw, cut + 1)
end
local function load(k)
  local raw = redis.call('GET', k)
  if not raw then return nil, nil end
  return parse(raw)
end
local function save(k, f, v)
  local parts = {}
  for n, name in ipairs(names) do parts[n] = f[name] or '' end
  redis.call('SET', k, table.concat(parts, '\31') .. '\30' .. v)
end
local function outcome(ds, code)
  if ds == 'delivered' or ds == 'read' then return 'delivered', '' end
  if ds == 'failed' or ds == 'undelivered' or ds == 'canceled' then
    if code and code ~= '' and code ~= '0' then return 'failed', code end
    return 'failed', ds
  end
  return 'sent', ''
end
local function count(bp, cohort, from, to)
  if from == to then return end
  local keys = {bp .. 'jn'}
  if cohort and cohort ~= '' then keys[2] = bp .. 'jn:' .. cohort end
  for _, k in ipairs(keys) do
    if from and from ~= '' then
      if redis.call('HINCRBY', k, from, -1) <= 0 then redis.call('HDEL', k, from) end
    end
    if to and to ~= '' then redis.call('HINCRBY', k, to, 1) end
  end
end
local function ended(st)
  return st == 'delivered' or st == 'failed' or st == 'cancelled'
end
local function index(bp, id, score, cohort)
  redis.call('ZADD', bp .. 'ja', score, id)
  if cohort ~= '' then redis.call('ZADD', bp .. 'jc:' .. cohort, score, id) end
end
`

// enqueueScript stores the jobs whose id is not stored yet.
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2…] per job, 3 values: id, due score, the job as jobValue writes it
//	         (queued, with its cohort)
//
// It returns how many jobs it stored.
var enqueueScript = redis.NewScript(outboxLua + `
local bp, n = ARGV[1], 0
for b = 2, #ARGV, 3 do
  local id, score = ARGV[b], ARGV[b+1]
  local k = bp .. 'j:' .. id
  if redis.call('EXISTS', k) == 0 then
    redis.call('SET', k, ARGV[b+2])
    local f = load(k)
    redis.call('ZADD', KEYS[1], score, id)
    index(bp, id, score, f.k)
    count(bp, f.k, '', 'queued')
    n = n + 1
  end
end
return n
`)

// enqueueClaimScript stores the jobs whose id is not stored yet claimed
// by a worker, and claims the stored ones a claim could take now.
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2]  now, as a score
//	ARGV[3]  now, as Go writes times
//	ARGV[4]  the end of the lease, as a score
//	ARGV[5]  the end of the lease, as Go writes times
//	ARGV[6]  the worker
//	ARGV[7…] per job, 4 values: id, due score, its cohort as the sets name
//	         it, the job as jobValue writes it (claimed by the worker)
//
// It returns, for each job, its id, then 2 for a job it stored as given,
// 1 for a job it claimed, 0 for one it left, and then, but for a job it
// stored, the job as it stands.
var enqueueClaimScript = redis.NewScript(outboxLua + `
local bp, now = ARGV[1], tonumber(ARGV[2])
local out = {}
for b = 7, #ARGV, 4 do
  local id, score, cohort = ARGV[b], ARGV[b+1], ARGV[b+2]
  local k = bp .. 'j:' .. id
  local took = 0
  if redis.call('SET', k, ARGV[b+3], 'NX') then
    redis.call('ZADD', KEYS[1], ARGV[4], id)
    index(bp, id, score, cohort)
    count(bp, cohort, '', 'claimed')
    took = 2
  else
    local due = tonumber(redis.call('ZSCORE', KEYS[1], id))
    local f, v = load(k)
    if due and due <= now and (f.s == 'queued' or f.s == 'claimed') then
      local from = f.s
      if f.c == '' then f.c = ARGV[3] end
      f.s, f.w, f.a, f.l, f.u = 'claimed', ARGV[6], tostring((tonumber(f.a) or 0) + 1), ARGV[5], ARGV[3]
      save(k, f, v)
      count(bp, f.k, from, 'claimed')
      redis.call('ZADD', KEYS[1], ARGV[4], id)
      took = 1
    end
  end
  out[#out+1] = id
  out[#out+1] = took
  if took == 2 then out[#out+1] = '' else out[#out+1] = redis.call('GET', k) end
end
return out
`)

// claimScript first removes the bucket's jobs that ended before the
// retention's cutoff, with every trace of them, then claims the jobs it is
// given that are still due (a peek chose them: another replica may have
// claimed some since).
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2]  now, as a score
//	ARGV[3]  now, as Go writes times
//	ARGV[4]  the end of the lease, as a score
//	ARGV[5]  the end of the lease, as Go writes times
//	ARGV[6]  the worker
//	ARGV[7]  the retention's cutoff (ms): jobs that ended before go
//	ARGV[8…] the ids of the jobs to claim (none: only remove)
//
// It returns, for each job it claimed, its id and then the job.
var claimScript = redis.NewScript(outboxLua + `
local bp = ARGV[1]
local old = redis.call('ZRANGEBYSCORE', bp .. 'jf', '-inf', ARGV[7], 'LIMIT', 0, 200)
for _, id in ipairs(old) do
  local k = bp .. 'j:' .. id
  local f = load(k)
  if f then
    count(bp, f.k, f.s, '')
    if f.k ~= '' then redis.call('ZREM', bp .. 'jc:' .. f.k, id) end
  end
  redis.call('ZREM', bp .. 'ja', id)
  redis.call('ZREM', bp .. 'jf', id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', k)
end
local now = tonumber(ARGV[2])
local out = {}
for i = 8, #ARGV do
  local id = ARGV[i]
  local due = tonumber(redis.call('ZSCORE', KEYS[1], id))
  if due and due <= now then
    local k = bp .. 'j:' .. id
    local f, v = load(k)
    if f and (f.s == 'queued' or f.s == 'claimed') then
      local from = f.s
      if f.c == '' then f.c = ARGV[3] end
      f.s, f.w, f.a, f.l, f.u = 'claimed', ARGV[6], tostring((tonumber(f.a) or 0) + 1), ARGV[5], ARGV[3]
      save(k, f, v)
      count(bp, f.k, from, 'claimed')
      redis.call('ZADD', KEYS[1], ARGV[4], id)
      out[#out+1] = id
      out[#out+1] = redis.call('GET', k)
    else
      -- Not claimable (a stray entry): it has no business in the set.
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
return out
`)

// settleScript saves what a worker did with a job it holds.
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the job id
//	ARGV[3]  the worker that claimed it
//	ARGV[4]  the due score
//	ARGV[5]  the lease score
//	ARGV[6]  now (ms)
//	ARGV[7]  the job as jobValue writes it (its ds, de and cohort are
//	         the stored ones')
//
// It returns {1, status} when saved (a sent job that Twilio already
// reported on takes that outcome), {0, status, worker} when the job is not
// claimed by the worker, and {-1} when there is no such job.
var settleScript = redis.NewScript(outboxLua + `
local bp, id = ARGV[1], ARGV[2]
local k = bp .. 'j:' .. id
local cur = load(k)
if not cur then return {-1} end
if cur.s ~= 'claimed' or cur.w ~= ARGV[3] then return {0, cur.s, cur.w} end
local f, v = parse(ARGV[7])
f.k, f.ds, f.de = cur.k, cur.ds, cur.de
if f.s == 'sent' and f.ds ~= '' then
  local st, r = outcome(f.ds, f.de)
  if st ~= 'sent' then f.s, f.r = st, r end
end
save(k, f, v)
count(bp, f.k, cur.s, f.s)
if f.s == 'queued' then
  redis.call('ZADD', KEYS[1], ARGV[4], id)
elseif f.s == 'claimed' then
  redis.call('ZADD', KEYS[1], ARGV[5], id)
else
  redis.call('ZREM', KEYS[1], id)
end
if ended(f.s) then redis.call('ZADD', bp .. 'jf', ARGV[6], id) end
index(bp, id, ARGV[4], f.k)
return {1, f.s}
`)

// deliveredScript records a delivery status of a job's message if it moves
// forward; a job that was sent follows it.
//
//	KEYS[1]  the job
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the job id
//	ARGV[3]  the status
//	ARGV[4]  the error code
//	ARGV[5]  now, as Go writes times
//	ARGV[6]  now (ms)
//	ARGV[7…] the statuses ARGV[3] is a move forward from
//
// It returns 1 when it recorded the status, 0 when it is not a move
// forward, -1 when there is no such job.
var deliveredScript = redis.NewScript(outboxLua + `
local bp, id = ARGV[1], ARGV[2]
local f, v = load(KEYS[1])
if not f then return -1 end
if f.ds ~= '' then
  local forward = false
  for i = 7, #ARGV do
    if ARGV[i] == f.ds then forward = true break end
  end
  if not forward then return 0 end
end
f.ds, f.de = ARGV[3], ARGV[4]
local from = f.s
if (f.s == 'sent' or f.s == 'delivered' or f.s == 'failed') and f.i ~= '' then
  f.s, f.r = outcome(ARGV[3], ARGV[4])
  f.u = ARGV[5]
end
save(KEYS[1], f, v)
count(bp, f.k, from, f.s)
if ended(f.s) and not ended(from) then redis.call('ZADD', bp .. 'jf', ARGV[6], id) end
return 1
`)

// cancelScript cancels a job no send of which may have gone out: a queued
// one, or a claimed one whose worker has not passed the send fence
// (beginSendScript), and not a claimed reply (its id starts with
// "reply-"). The worker's fence and settle then find it cancelled.
//
//	KEYS[1]  the job
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the job id
//	ARGV[3]  now, as Go writes times
//	ARGV[4]  the reason
//	ARGV[5]  now (ms)
//
// It returns {1} when the job is cancelled (now or before), {0, status}
// when it is past cancelling ("sending" when a send may have gone out),
// {-1} when there is no such job.
var cancelScript = redis.NewScript(outboxLua + `
local bp, id = ARGV[1], ARGV[2]
local f, v = load(KEYS[1])
if not f then return {-1} end
if f.s == 'cancelled' then return {1} end
if f.s ~= 'queued' and f.s ~= 'claimed' then return {0, f.s} end
if f.g and f.g ~= '' then return {0, 'sending'} end
if f.s == 'claimed' and string.sub(id, 1, 6) == 'reply-' then return {0, 'claimed'} end
local from = f.s
f.s, f.r, f.u, f.w, f.l = 'cancelled', ARGV[4], ARGV[3], '', ''
save(KEYS[1], f, v)
count(bp, f.k, from, 'cancelled')
redis.call('ZREM', bp .. 'jd', id)
redis.call('ZADD', bp .. 'jf', ARGV[5], id)
return {1}
`)

// beginSendScript is the send fence: it marks a job its worker is about to
// send (g, once), if that worker still holds it.
//
//	KEYS[1]  the job
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the worker
//	ARGV[3]  now, as Go writes times
//
// It returns {1, g} when the worker holds the job, {0, status, worker}
// when it does not (cancelled, taken over), {-1} when there is no such
// job.
var beginSendScript = redis.NewScript(outboxLua + `
local f, v = load(KEYS[1])
if not f then return {-1} end
if f.s ~= 'claimed' or f.w ~= ARGV[2] then return {0, f.s, f.w} end
if not f.g or f.g == '' then
  f.g = ARGV[3]
  save(KEYS[1], f, v)
end
return {1, f.g}
`)

// jobsScript lists a bucket's jobs, newest due first, from a rank on.
//
//	KEYS[1]  the listing set: the bucket's ja, or a cohort's jc:<code>
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the rank to start at
//	ARGV[3]  the most jobs to return
//	ARGV[4…] the statuses to return, none for all
//
// It returns, for each job, its rank, its score, its id and then the job.
// Fewer than the most asked for means the set's end was reached. It reads
// the set a page at a time, so that a status filter that matches few jobs
// does not read them all at once.
var jobsScript = redis.NewScript(outboxLua + `
local bp, limit = ARGV[1], tonumber(ARGV[3])
local want = nil
if #ARGV > 3 then
  want = {}
  for i = 4, #ARGV do want[ARGV[i]] = true end
end
local out, n, start = {}, 0, tonumber(ARGV[2])
while n < limit do
  local ids = redis.call('ZREVRANGE', KEYS[1], start, start + 255, 'WITHSCORES')
  if #ids == 0 then break end
  for i = 1, #ids, 2 do
    local id = ids[i]
    local k = bp .. 'j:' .. id
    local f = load(k)
    if f and (not want or want[f.s]) then
      out[#out+1] = start + (i - 1) / 2
      out[#out+1] = ids[i+1]
      out[#out+1] = id
      out[#out+1] = redis.call('GET', k)
      n = n + 1
      if n >= limit then break end
    end
  end
  start = start + 256
end
return out
`)

// dropJobsScript removes jobs, with their place in the bucket's sets and
// counts: the jobs of an erased learner.
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2…] the job ids
//
// It returns the SIDs of the messages the jobs sent, for their delivery
// records to go too.
var dropJobsScript = redis.NewScript(outboxLua + `
local bp = ARGV[1]
local sids = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local k = bp .. 'j:' .. id
  local f = load(k)
  if f then
    count(bp, f.k, f.s, '')
    if f.k ~= '' then redis.call('ZREM', bp .. 'jc:' .. f.k, id) end
    if f.i ~= '' then sids[#sids+1] = f.i end
  end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', bp .. 'ja', id)
  redis.call('ZREM', bp .. 'jf', id)
  redis.call('DEL', k)
end
return sids
`)
