package app

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHashCost: an unknown login is compared at the cost of real
// accounts, or its answer would come sooner and tell it is unknown.
func TestDummyHashCost(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash())
	if err != nil || cost != BcryptCost {
		t.Errorf("dummyHash: got cost %d (%v), want BcryptCost %d", cost, err, BcryptCost)
	}
}
