package redisstore

import "github.com/redis/go-redis/v9"

// The outbox scripts. Each works in one bucket (layout.go): every key it
// touches starts with the bucket's tag, which it gets as ARGV[1] and
// builds keys from, so that Redis Cluster runs it on the node of that
// bucket's slot. KEYS[1] names a key of the bucket, for routing.
//
// A job is a hash: v holds what Go writes, in the compact form of
// encodeJob, and the fields the scripts change on their own (s status, w
// worker, a attempts, c claimed at, l lease until, r reason, u updated at)
// are kept beside it and win over v when the job is read. i is the SID and
// k the cohort's code, which the scripts need; ds and de are the furthest
// delivery status Twilio reported and its error code.
//
// In a bucket: jd holds the jobs a claim may take (queued ones scored by
// their due time, claimed ones by the end of their lease, in microseconds
// since 1970); ja every job and jc:<code> a cohort's jobs, by due time,
// for listing; jf the jobs that ended, by the time they did (ms), for
// retention; jn and jn:<code> how many jobs (all, the cohort's) are in each
// status.

// outboxLua holds the helpers of the scripts: outcome maps the furthest
// delivery status of a sent job to its status and reason, as
// schedule.Outcome does in Go; count moves a job from one status to
// another in the counts; ended says whether a status is final; index files
// a job under a score in the listing sets.
const outboxLua = `
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
//	ARGV[2…] per job, 5 values: id, due score, v, cohort, updated at
//
// It returns how many jobs it stored.
var enqueueScript = redis.NewScript(outboxLua + `
local bp, n = ARGV[1], 0
for b = 2, #ARGV, 5 do
  local id, score, cohort = ARGV[b], ARGV[b+1], ARGV[b+3]
  local k = bp .. 'j:' .. id
  if redis.call('EXISTS', k) == 0 then
    redis.call('HSET', k, 'v', ARGV[b+2], 's', 'queued', 'w', '', 'a', '0', 'c', '', 'l', '', 'r', '',
      'u', ARGV[b+4], 'i', '', 'k', cohort)
    redis.call('ZADD', KEYS[1], score, id)
    index(bp, id, score, cohort)
    count(bp, cohort, '', 'queued')
    n = n + 1
  end
end
return n
`)

// claimScript first removes the jobs that ended before the retention's
// cutoff, with every trace of them, then claims up to max due jobs,
// earliest first.
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2]  now, as a score
//	ARGV[3]  now, as Go writes times
//	ARGV[4]  the end of the lease, as a score
//	ARGV[5]  the end of the lease, as Go writes times
//	ARGV[6]  the worker
//	ARGV[7]  max (0: only remove)
//	ARGV[8]  the retention's cutoff (ms): jobs that ended before go
//
// It returns, for each job it claimed, its id and then its fields v s w a
// c l r u.
var claimScript = redis.NewScript(outboxLua + `
local bp = ARGV[1]
local old = redis.call('ZRANGEBYSCORE', bp .. 'jf', '-inf', ARGV[8], 'LIMIT', 0, 200)
for _, id in ipairs(old) do
  local k = bp .. 'j:' .. id
  local f = redis.call('HMGET', k, 's', 'k')
  count(bp, f[2], f[1], '')
  redis.call('ZREM', bp .. 'ja', id)
  if f[2] and f[2] ~= '' then redis.call('ZREM', bp .. 'jc:' .. f[2], id) end
  redis.call('ZREM', bp .. 'jf', id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', k)
end
local max = tonumber(ARGV[7])
if max <= 0 then return {} end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, max)
local out = {}
for _, id in ipairs(ids) do
  local k = bp .. 'j:' .. id
  local f = redis.call('HMGET', k, 's', 'a', 'c', 'k')
  if f[1] == 'queued' or f[1] == 'claimed' then
    local c = f[3]
    if not c or c == '' then c = ARGV[3] end
    redis.call('HSET', k, 's', 'claimed', 'w', ARGV[6], 'a', tostring((tonumber(f[2]) or 0) + 1),
      'c', c, 'l', ARGV[5], 'u', ARGV[3])
    count(bp, f[4], f[1], 'claimed')
    redis.call('ZADD', KEYS[1], ARGV[4], id)
    out[#out+1] = id
    local g = redis.call('HMGET', k, 'v', 's', 'w', 'a', 'c', 'l', 'r', 'u')
    for i = 1, 8 do out[#out+1] = g[i] end
  else
    -- Not claimable (a stray entry): it has no business in the set.
    redis.call('ZREM', KEYS[1], id)
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
//	ARGV[7…15] v s w a c l r u i
//
// It returns {1, status} when saved (a sent job that Twilio already
// reported on takes that outcome), {0, status, worker} when the job is not
// claimed by the worker, and {-1} when there is no such job.
var settleScript = redis.NewScript(outboxLua + `
local bp, id = ARGV[1], ARGV[2]
local k = bp .. 'j:' .. id
local f = redis.call('HMGET', k, 's', 'w', 'ds', 'de', 'k')
if not f[1] then return {-1} end
if f[1] ~= 'claimed' or f[2] ~= ARGV[3] then return {0, f[1], f[2] or ''} end
local st, reason = ARGV[8], ARGV[13]
if st == 'sent' and f[3] then
  local r
  st, r = outcome(f[3], f[4])
  if st ~= 'sent' then reason = r end
end
local cohort = f[5] or ''
redis.call('HSET', k, 'v', ARGV[7], 's', st, 'w', ARGV[9], 'a', ARGV[10], 'c', ARGV[11],
  'l', ARGV[12], 'r', reason, 'u', ARGV[14], 'i', ARGV[15])
count(bp, cohort, f[1], st)
if st == 'queued' then
  redis.call('ZADD', KEYS[1], ARGV[4], id)
elseif st == 'claimed' then
  redis.call('ZADD', KEYS[1], ARGV[5], id)
else
  redis.call('ZREM', KEYS[1], id)
end
if ended(st) then redis.call('ZADD', bp .. 'jf', ARGV[6], id) end
index(bp, id, ARGV[4], cohort)
return {1, st}
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
local f = redis.call('HMGET', KEYS[1], 's', 'ds', 'i', 'k')
if not f[1] then return -1 end
if f[2] then
  local forward = false
  for i = 7, #ARGV do
    if ARGV[i] == f[2] then forward = true break end
  end
  if not forward then return 0 end
end
redis.call('HSET', KEYS[1], 'ds', ARGV[3], 'de', ARGV[4])
if (f[1] == 'sent' or f[1] == 'delivered' or f[1] == 'failed') and f[3] and f[3] ~= '' then
  local st, r = outcome(ARGV[3], ARGV[4])
  redis.call('HSET', KEYS[1], 's', st, 'r', r, 'u', ARGV[5])
  count(bp, f[4], f[1], st)
  if ended(st) and not ended(f[1]) then redis.call('ZADD', bp .. 'jf', ARGV[6], id) end
end
return 1
`)

// cancelScript cancels a queued job.
//
//	KEYS[1]  the job
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the job id
//	ARGV[3]  now, as Go writes times
//	ARGV[4]  the reason
//	ARGV[5]  now (ms)
//
// It returns {1} when the job is cancelled (now or before), {0, status}
// when it is past cancelling, {-1} when there is no such job.
var cancelScript = redis.NewScript(outboxLua + `
local bp, id = ARGV[1], ARGV[2]
local f = redis.call('HMGET', KEYS[1], 's', 'k')
local s = f[1]
if not s then return {-1} end
if s == 'cancelled' then return {1} end
if s ~= 'queued' then return {0, s} end
redis.call('HSET', KEYS[1], 's', 'cancelled', 'r', ARGV[4], 'u', ARGV[3])
count(bp, f[2], s, 'cancelled')
redis.call('ZREM', bp .. 'jd', id)
redis.call('ZADD', bp .. 'jf', ARGV[5], id)
return {1}
`)

// jobsScript lists a bucket's jobs, newest due first, from a rank on.
//
//	KEYS[1]  the listing set: the bucket's ja, or a cohort's jc:<code>
//	ARGV[1]  the bucket's tag
//	ARGV[2]  the rank to start at
//	ARGV[3]  the most jobs to return
//	ARGV[4…] the statuses to return, none for all
//
// It returns, for each job, its rank, its score, its id and then its fields
// v s w a c l r u. Fewer than the most asked for means the set's end was
// reached. It reads the set a page at a time, so that a status filter that
// matches few jobs does not read them all at once.
var jobsScript = redis.NewScript(`
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
    local g = redis.call('HMGET', bp .. 'j:' .. id, 'v', 's', 'w', 'a', 'c', 'l', 'r', 'u')
    if g[1] and (not want or want[g[2]]) then
      out[#out+1] = start + (i - 1) / 2
      out[#out+1] = ids[i+1]
      out[#out+1] = id
      for f = 1, 8 do out[#out+1] = g[f] end
      n = n + 1
      if n >= limit then break end
    end
  end
  start = start + 256
end
return out
`)
