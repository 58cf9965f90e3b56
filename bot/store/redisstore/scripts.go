package redisstore

import "github.com/redis/go-redis/v9"

// updateScript is the write half of Update: a compare-and-set of the
// learner together with the record of the applied message and what the
// change moves in the learner's indexes, all or nothing. Every key it
// touches is in the learner's bucket (layout.go), so Redis Cluster runs it
// on the node that holds them; the keys it builds from ARGV[5] and ARGV[9]
// share that tag for the same reason.
//
//	KEYS[1]  the learner
//	KEYS[2]  the learner's message index: a sorted set of message ids
//	         scored by the time (ms) their record expires
//	KEYS[3]  the bucket's due index
//	KEYS[4]  the message record (absent when there is no message id)
//	ARGV[1]  the learner as Update read it, "" for none
//	ARGV[2]  the learner to write, "" to erase
//	ARGV[3]  the message record to write
//	ARGV[4]  how long the record lives, in ms
//	ARGV[5]  the prefix of the learner's message keys
//	ARGV[6]  the message id's key (app.Keys.Message)
//	ARGV[7]  "1" to drop expired ids from the index this time
//	ARGV[8]  the learner as the indexes hold it
//	ARGV[9]  the bucket's tag, the prefix of its keys
//	ARGV[10] the due index: "" unchanged, "-" out of it, else the score
//	ARGV[11] the cohort the learner leaves, "" for none
//	ARGV[12] the cohort the learner joins, "" for none
//	ARGV[13] the alias the learner leaves (the keyed hash of their former
//	         BSUID), "" for none: deleted if it still names them, or, on
//	         an erase, made a tombstone (~ and the learner's key) that
//	         lives as long as the message index, against replays
//	ARGV[14] the alias the learner takes (the keyed hash of their BSUID),
//	         "" for none: set to them
//	ARGV[15] the learner's key (app.Keys.Learner), for the tombstone
//	ARGV[16…] counter moves, three values each: cohort, counter, delta
//
// It returns {1} when written, {0, current} when the learner changed since
// it was read (current is the stored value, "" for none, on which Update
// tries again), {2, record} when the message id is already recorded (a
// concurrent delivery of the same message won), and {3} when there is no
// learner and the message is one an erased learner sent: a replay, which
// must not bring them back.
//
// An erase deletes the learner and their message records, and keeps the
// message index, which holds only keyed hashes (app.Keys): it stops
// replays until it expires, with the last message's retention.
//
// The common message costs 7 commands with the script's own: the learner
// is compared first, and the message record written with NX, which is its
// duplicate check too; the record is read only when something is off.
//
// go-redis sends a command again when a connection fails before its reply
// arrives, so the script may run a second time after it succeeded. Written
// values carry a random token (see codec.go), so finding exactly the value
// this call writes means the first run succeeded: that is {1}, not a
// conflict or a duplicate, and the indexes are not moved twice. An erase
// without a message id has no token to find; finding the learner gone is
// success too, since that is what it asked.
//
// Times come from Redis's own clock, the one that expires the records, so
// the index never drops an id whose record lives on. Scripts that write
// after TIME need effects replication, the only mode since Redis 7 and the
// default since Redis 5.
var updateScript = redis.NewScript(`
local mkey = KEYS[4]
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then
  if mkey then
    local rec = redis.call('GET', mkey)
    if rec then
      if rec == ARGV[3] then return {1} end
      return {2, rec}
    end
  end
  if cur == ARGV[2] then return {1} end
  return {0, cur}
end
if cur == '' and mkey and redis.call('ZSCORE', KEYS[2], ARGV[6]) then return {3} end
local ttl = tonumber(ARGV[4])
if ARGV[2] == '' then
  if mkey then
    local rec = redis.call('GET', mkey)
    if rec then return {2, rec} end
  end
  local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
  for i = 1, #ids do redis.call('DEL', ARGV[5] .. ids[i]) end
  redis.call('DEL', KEYS[1])
else
  if mkey and not redis.call('SET', mkey, ARGV[3], 'PX', ttl, 'NX') then
    return {2, redis.call('GET', mkey)}
  end
  redis.call('SET', KEYS[1], ARGV[2])
end
if mkey then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if ARGV[7] == '1' then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  end
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if ARGV[10] == '-' then
  redis.call('ZREM', KEYS[3], ARGV[8])
elseif ARGV[10] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[10], ARGV[8])
end
if ARGV[11] ~= '' then redis.call('SREM', ARGV[9] .. 'cm:' .. ARGV[11], ARGV[8]) end
if ARGV[12] ~= '' then redis.call('SADD', ARGV[9] .. 'cm:' .. ARGV[12], ARGV[8]) end
if ARGV[13] ~= '' then
  local a = ARGV[9] .. 'a:' .. ARGV[13]
  if redis.call('GET', a) == ARGV[8] then
    local pttl = redis.call('PTTL', KEYS[2])
    if ARGV[2] == '' and pttl > 0 then
      redis.call('SET', a, '~' .. ARGV[15], 'PX', pttl)
    else
      redis.call('DEL', a)
    end
  end
end
if ARGV[14] ~= '' then redis.call('SET', ARGV[9] .. 'a:' .. ARGV[14], ARGV[8]) end
for i = 16, #ARGV, 3 do
  local k = ARGV[9] .. 'cc:' .. ARGV[i]
  if redis.call('HINCRBY', k, ARGV[i+1], ARGV[i+2]) == 0 then redis.call('HDEL', k, ARGV[i+1]) end
end
return {1}
`)

// advanceScript records a delivery status if it moves forward. The rank
// table stays in Go (bot.DeliveryStatus.After): the caller passes the
// statuses the new one may replace.
//
//	KEYS[1]  the delivery, a hash: s status, t to, j job, e error code,
//	         u updated at (see appendTime)
//	ARGV[1]  status
//	ARGV[2]  to, "" to keep the stored one
//	ARGV[3]  job, "" to keep the stored one
//	ARGV[4]  error code
//	ARGV[5]  updated at
//	ARGV[6]  how long the delivery lives, in ms
//	ARGV[7…] the statuses ARGV[1] is a move forward from
//
// It returns 1 when it wrote, 0 when the move is not forward.
var advanceScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 's')
if cur then
  local forward = false
  for i = 7, #ARGV do
    if ARGV[i] == cur then forward = true break end
  end
  if not forward then return 0 end
end
local set = {'s', ARGV[1], 'e', ARGV[4], 'u', ARGV[5]}
if ARGV[2] ~= '' then set[#set+1] = 't' set[#set+1] = ARGV[2] end
if ARGV[3] ~= '' then set[#set+1] = 'j' set[#set+1] = ARGV[3] end
redis.call('HSET', KEYS[1], unpack(set))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`)
