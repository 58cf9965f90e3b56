package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Keys stand for learners where their number must not appear: job ids
// (and so the status callback URLs Twilio gets), the dashboard's outbox,
// CSV files, exports without numbers, and what an erased learner leaves
// behind against replays. A key is a keyed hash (HMAC-SHA256) of the
// learner's address with the deployment's secret: the same learner always
// gets the same key, two learners never in practice, and without the
// secret a key cannot be turned back into a number, whereas a plain hash
// of a phone number can (there are only about 10^9 numbers to try).
//
// The zero Keys has no secret and panics when used: a store always gives
// its own (see KeyHolder).
type Keys struct{ secret []byte }

// NewKeys returns the Keys of a secret (DARSI_SECRET, or the one a store
// keeps).
func NewKeys(secret []byte) Keys { return Keys{secret: append([]byte(nil), secret...)} }

// KeyHolder is a store that keeps the deployment's key: the one it was
// opened with, or one it made and keeps when none was given.
type KeyHolder interface {
	Keys() Keys
}

// learnerKeyLen is how many hex digits of the HMAC a learner's key keeps:
// 80 bits, far from any collision among millions of learners.
const learnerKeyLen = 20

// Learner returns the learner's key: "L" and 20 hex digits.
func (k Keys) Learner(id string) string { return "L" + k.sum("learner", id)[:learnerKeyLen] }

// Message returns the key of a message id of a learner (by their key),
// which an erased learner leaves behind for a while, so that Twilio's
// retries and replays of their messages do not bring them back.
func (k Keys) Message(learnerKey, msgID string) string {
	return k.sum("message", learnerKey+"\x00"+msgID)[:32]
}

// Set reports whether the keys have a secret.
func (k Keys) Set() bool { return len(k.secret) > 0 }

func (k Keys) sum(purpose, s string) string {
	if len(k.secret) == 0 {
		panic("app.Keys used without a secret")
	}
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}
