package cohort

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewToken returns a fresh API token for a coach: 32 random bytes,
// URL-safe, after a "darsi_" prefix that secret scanners can match.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return "darsi_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// TokenHash is what a store keeps of an API token (Coach.TokenHash) and
// what CoachByToken is asked for: its SHA-256, in lower-case hex.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
