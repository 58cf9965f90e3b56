package redisstore

import "github.com/redis/go-redis/v9"

// The outbox scripts. Every key they touch starts with P{outbox}: (see
// outbox.go), so Redis Cluster keeps them in one slot and a script may
// touch any of them; the job and cohort keys are built inside the scripts
// from prefixes for that reason, as updateScript builds message keys.
//
// A job is a hash (see jobFields): v holds the job as JSON as Go last wrote
// it, and the fields the scripts change on their own (s status, w worker, a
// attempts, c claimed at, l lease until, r reason, u updated at) are kept
// beside it and win over v when the job is read. i is the SID and k the
// cohort, which the scripts need; ds and de are the furthest delivery
// status Twilio reported and its error code.
//
// The due set holds the jobs a claim may take: queued jobs scored by their
// due time, claimed ones by the end of their lease, in microseconds since
// 1970. The all and cohort sets hold every job by due time, for listing.

// outcomeLua maps the furthest delivery status of a sent job to its status
// and reason, as jobOutcome does in Go.
const outcomeLua = `
local function outcome(ds, code)
  if ds == 'delivered' or ds == 'read' then return 'delivered', '' end
  if ds == 'failed' or ds == 'undelivered' or ds == 'canceled' then
    if code and code ~= '' and code ~= '0' then return 'failed', code end
    return 'failed', ds
  end
  return 'sent', ''
end
`

// indexLua files job id under score in the all set and its cohort's set,
// moving it out of the set of the cohort it had.
const indexLua = `
local function index(all, cp, id, score, old, cohort)
  if old and old ~= '' and old ~= cohort then redis.call('ZREM', cp .. old, id) end
  redis.call('ZADD', all, score, id)
  if cohort ~= '' then redis.call('ZADD', cp .. cohort, score, id) end
end
`

// enqueueScript stores new jobs, and replaces those still queued.
//
//	KEYS[1]  the due set
//	KEYS[2]  the all set
//	ARGV[1]  the prefix of job keys
//	ARGV[2]  the prefix of cohort sets
//	ARGV[3…] per job, 12 values: id, due score, then v s w a c l r u i k
//
// It returns how many jobs it wrote.
var enqueueScript = redis.NewScript(indexLua + `
local n = 0
for b = 3, #ARGV, 12 do
  local id, score = ARGV[b], ARGV[b+1]
  local k = ARGV[1] .. id
  local cur = redis.call('HMGET', k, 's', 'k')
  if not cur[1] or cur[1] == 'queued' then
    redis.call('DEL', k)
    redis.call('HSET', k, 'v', ARGV[b+2], 's', ARGV[b+3], 'w', ARGV[b+4], 'a', ARGV[b+5],
      'c', ARGV[b+6], 'l', ARGV[b+7], 'r', ARGV[b+8], 'u', ARGV[b+9], 'i', ARGV[b+10], 'k', ARGV[b+11])
    redis.call('ZADD', KEYS[1], score, id)
    index(KEYS[2], ARGV[2], id, score, cur[2], ARGV[b+11])
    n = n + 1
  end
end
return n
`)

// claimScript claims up to max due jobs, earliest first.
//
//	KEYS[1]  the due set
//	ARGV[1]  now, as a score
//	ARGV[2]  now, as Go writes times
//	ARGV[3]  the end of the lease, as a score
//	ARGV[4]  the end of the lease, as Go writes times
//	ARGV[5]  the worker
//	ARGV[6]  max
//	ARGV[7]  the prefix of job keys
//
// It returns, for each job it claimed, its id and then its jobFields.
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[6]))
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[7] .. id
  local f = redis.call('HMGET', k, 's', 'a', 'c')
  if f[1] == 'queued' or f[1] == 'claimed' then
    local c = f[3]
    if not c or c == '' then c = ARGV[2] end
    redis.call('HSET', k, 's', 'claimed', 'w', ARGV[5], 'a', tostring((tonumber(f[2]) or 0) + 1),
      'c', c, 'l', ARGV[4], 'u', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[3], id)
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
//	KEYS[1]  the due set
//	KEYS[2]  the all set
//	ARGV[1]  the prefix of job keys
//	ARGV[2]  the prefix of cohort sets
//	ARGV[3]  the job id
//	ARGV[4]  the worker that claimed it
//	ARGV[5]  the due score
//	ARGV[6]  the lease score
//	ARGV[7…16] v s w a c l r u i k
//
// It returns {1, status} when saved (a sent job that Twilio already
// reported on takes that outcome), {0, status, worker} when the job is not
// claimed by the worker, and {-1} when there is no such job.
var settleScript = redis.NewScript(outcomeLua + indexLua + `
local id = ARGV[3]
local k = ARGV[1] .. id
local f = redis.call('HMGET', k, 's', 'w', 'ds', 'de', 'k')
if not f[1] then return {-1} end
if f[1] ~= 'claimed' or f[2] ~= ARGV[4] then return {0, f[1], f[2] or ''} end
local st, reason = ARGV[8], ARGV[13]
if st == 'sent' and f[3] then
  local r
  st, r = outcome(f[3], f[4])
  if st ~= 'sent' then reason = r end
end
redis.call('HSET', k, 'v', ARGV[7], 's', st, 'w', ARGV[9], 'a', ARGV[10], 'c', ARGV[11],
  'l', ARGV[12], 'r', reason, 'u', ARGV[14], 'i', ARGV[15], 'k', ARGV[16])
if st == 'queued' then
  redis.call('ZADD', KEYS[1], ARGV[5], id)
elseif st == 'claimed' then
  redis.call('ZADD', KEYS[1], ARGV[6], id)
else
  redis.call('ZREM', KEYS[1], id)
end
index(KEYS[2], ARGV[2], id, ARGV[5], f[5], ARGV[16])
return {1, st}
`)

// deliveredScript records a delivery status of a job's message if it moves
// forward; a job that was sent follows it.
//
//	KEYS[1]  the job
//	ARGV[1]  the status
//	ARGV[2]  the error code
//	ARGV[3]  now, as Go writes times
//	ARGV[4…] the statuses ARGV[1] is a move forward from
//
// It returns 1 when it recorded the status, 0 when it is not a move
// forward, -1 when there is no such job.
var deliveredScript = redis.NewScript(outcomeLua + `
local f = redis.call('HMGET', KEYS[1], 's', 'ds', 'i')
if not f[1] then return -1 end
if f[2] then
  local forward = false
  for i = 4, #ARGV do
    if ARGV[i] == f[2] then forward = true break end
  end
  if not forward then return 0 end
end
redis.call('HSET', KEYS[1], 'ds', ARGV[1], 'de', ARGV[2])
if (f[1] == 'sent' or f[1] == 'delivered' or f[1] == 'failed') and f[3] and f[3] ~= '' then
  local st, r = outcome(ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[1], 's', st, 'r', r, 'u', ARGV[3])
end
return 1
`)

// cancelScript cancels a queued job.
//
//	KEYS[1]  the job
//	KEYS[2]  the due set
//	ARGV[1]  the job id
//	ARGV[2]  now, as Go writes times
//	ARGV[3]  the reason
//
// It returns {1} when the job is cancelled (now or before), {0, status}
// when it is past cancelling, {-1} when there is no such job.
var cancelScript = redis.NewScript(`
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {-1} end
if s == 'cancelled' then return {1} end
if s ~= 'queued' then return {0, s} end
redis.call('HSET', KEYS[1], 's', 'cancelled', 'r', ARGV[3], 'u', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1}
`)

// jobsScript lists jobs newest due first.
//
//	KEYS[1]  the all set or a cohort's set
//	ARGV[1]  the most jobs to return
//	ARGV[2]  the prefix of job keys
//	ARGV[3…] the statuses to return, none for all
//
// It returns, for each job, its id and then its jobFields. It reads the
// set a page at a time, so that a status filter that matches few jobs does
// not read them all at once.
var jobsScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local want = nil
if #ARGV > 2 then
  want = {}
  for i = 3, #ARGV do want[ARGV[i]] = true end
end
local out, n, start = {}, 0, 0
while n < limit do
  local ids = redis.call('ZREVRANGE', KEYS[1], start, start + 255)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local g = redis.call('HMGET', ARGV[2] .. id, 'v', 's', 'w', 'a', 'c', 'l', 'r', 'u')
    if g[1] and (not want or want[g[2]]) then
      out[#out+1] = id
      for i = 1, 8 do out[#out+1] = g[i] end
      n = n + 1
      if n >= limit then break end
    end
  end
  start = start + 256
end
return out
`)
