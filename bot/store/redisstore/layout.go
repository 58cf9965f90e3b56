package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/darsi-ma/darsi/bot/app"
)

// DefaultBuckets is Options.Buckets' default.
const DefaultBuckets = 16

// The store's keys are spread over buckets: a learner, their message
// records, their place in the due index and in their cohort's members and
// counters all carry the hash tag of the learner's bucket, {b<n>}, so that
// Redis Cluster keeps them in one slot and one script writes them all in
// one round trip. A bucket holds the learners whose id hashes to it, so no
// key is written by every learner's messages, and a Cluster spreads the
// buckets over its masters. Jobs are spread the same way, by their id.
//
// Where P is Options.Prefix, B a bucket's tag ({b0}, {b1}, …), L a learner
// id and C a cohort code in upper case, both escaped (see escapeID):
//
//	PB:l:L          the learner, in a compact binary form (see codec.go)
//	PB:m:K:<M>      a message applied to the learner: its replies; expires
//	                after Options.Retention. K is the learner's key and M
//	                the message id's (app.Keys): no number in the name
//	PB:ms:K         the learner's messages (a sorted set of M by expiry),
//	                so that an erase finds them; an erase leaves it, and
//	                it stops replays of the erased learner's messages
//	                until it expires with the last of them
//	                (an erased learner moved from the embedded store, whose
//	                id and so bucket are gone, has it in every bucket)
//	PB:lj:K         the jobs addressed to the learner (ids by creation
//	                time, ms), so that an erase removes them
//	PB:a:H          the learner whose record holds a BSUID (see
//	                aliases.go): H is the BSUID's key (app.Keys), the
//	                bucket the learner's; an erased learner's is a
//	                tombstone, ~ and their key, until their message index
//	                expires
//	PB:due          the due index: learners by Outreach.At (ms)
//	PB:cm:C         the cohort's members in the bucket (a set of ids)
//	PB:cc:C         the cohort's counters over those members (a hash)
//	PB:j:<id>       a job (a hash; see outboxscripts.go)
//	PB:jd           the jobs a claim may take (see outbox.go)
//	PB:ja           every job by due time
//	PB:jc:C         the cohort's jobs by due time
//	PB:jf           ended jobs by the time they ended, for retention
//	PB:jn, PB:jn:C  job counts by status: all jobs, the cohort's
//	P{meta}:layout  the layout of the keys and the number of buckets
//	P{meta}:secret  the store's secret for app.Keys, when Options.Secret
//	                is not given (hex; made by the first replica)
//	P{meta}:replicas  the serving replicas (presence.go)
//	P{meta}:moving  held by a move (darsi migrate) while it runs
//	P{meta}:move    the checkpoint of the move that wrote into the store
//	Pd:<sid>        what Twilio said about a message Darsi sent (a hash);
//	                expires after Options.DeliveryRetention
//
// The number of buckets is fixed when the store is first used and kept in
// P{meta}:layout: a learner's keys are found by it.

// bucketOf returns the bucket of a learner or job id.
func (s *Store) bucketOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(s.buckets))
}

// bucketTag is the prefix of every key of bucket b: "P{b<n>}:".
func (s *Store) bucketTag(b int) string {
	return s.prefix + "{b" + strconv.Itoa(b) + "}:"
}

// learnerKeys are the keys of one learner.
type learnerKeys struct {
	bucket    string // the bucket's tag, the prefix of its keys
	learner   string
	index     string
	due       string
	jobs      string
	msgPrefix string
	msg       string // "" without a message id
	msgHash   string // the message id's key, as the index holds it
	member    string // the learner's id as indexes hold it (escaped)
	key       string // the learner's key (app.Keys.Learner)
}

// keysOf returns the keys of learner id, and of message msgID of theirs
// ("" for none). The keys named by the learner's key (index, jobs,
// messages) are there once the store has its secret (secretKeys): Update,
// Enqueue and erasing make sure of it first.
func (s *Store) keysOf(id, msgID string) learnerKeys {
	tag := s.bucketTag(s.bucketOf(id))
	k := learnerKeys{bucket: tag, learner: tag + "l:" + escapeID(id), due: tag + "due", member: escapeID(id)}
	s.keysMu.Lock()
	keys := s.keys
	s.keysMu.Unlock()
	if !keys.Set() {
		return k
	}
	k.key = keys.Learner(id)
	k.index, k.jobs, k.msgPrefix = tag+"ms:"+k.key, tag+"lj:"+k.key, tag+"m:"+k.key+":"
	if msgID != "" {
		k.msgHash = keys.Message(k.key, msgID)
		k.msg = k.msgPrefix + k.msgHash
	}
	return k
}

// learnerOfKey returns the learner id of a learner key, and false for any
// other key.
func (s *Store) learnerOfKey(key string) (string, bool) {
	for b := 0; b < s.buckets; b++ {
		if esc, ok := cutPrefix(key, s.bucketTag(b)+"l:"); ok {
			return unescapeID(esc), true
		}
	}
	return "", false
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

// cohortMembersKey and cohortCountsKey are a cohort's member set and
// counters in bucket b.
func (s *Store) cohortMembersKey(b int, code string) string {
	return s.bucketTag(b) + "cm:" + escapeID(code)
}

func (s *Store) cohortCountsKey(b int, code string) string {
	return s.bucketTag(b) + "cc:" + escapeID(code)
}

func (s *Store) layoutKey() string { return s.prefix + "{meta}:layout" }

func (s *Store) deliveryKey(sid string) string { return s.prefix + "d:" + sid }

func (s *Store) secretKey() string { return s.prefix + "{meta}:secret" }

// secretKeys returns the store's keys: from Options.Secret, or from the
// secret the store keeps in Redis, which the first replica to need it
// makes (32 random bytes), so that every replica shares it.
func (s *Store) secretKeys(ctx context.Context) (app.Keys, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if s.keys.Set() {
		return s.keys, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := s.client.SetNX(ctx, s.secretKey(), hex.EncodeToString(b), 0).Err(); err != nil {
		return app.Keys{}, err
	}
	v, err := s.client.Get(ctx, s.secretKey()).Result()
	if err != nil {
		return app.Keys{}, err
	}
	secret, err := hex.DecodeString(v)
	if err != nil || len(secret) < 16 {
		return app.Keys{}, fmt.Errorf("the store's secret at %s is damaged", s.secretKey())
	}
	s.keys = app.NewKeys(secret)
	return s.keys, nil
}

// Keys implements app.KeyHolder: the keys of Options.Secret, or of the
// store's own secret. A store made by New without a secret reads (or
// makes) it now; should Redis not answer, the keys are unset, and using
// them panics.
func (s *Store) Keys() app.Keys {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	k, _ := s.secretKeys(ctx)
	return k
}
