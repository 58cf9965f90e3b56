package app_test

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/darsi-ma/darsi/bot/app"
)

// productionCost is the cost new password hashes get outside tests.
var productionCost = app.BcryptCost

// TestMain hashes the tests' passwords at bcrypt's least cost: at the real
// one each hash takes seconds under the race detector. Logins compare at
// the cost a hash was made with, so the tests check the same paths.
func TestMain(m *testing.M) {
	app.BcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}

// TestProductionCost: outside tests coaches' passwords are hashed at
// DefaultBcryptCost, which stays at 12 or more.
func TestProductionCost(t *testing.T) {
	if productionCost != app.DefaultBcryptCost || app.DefaultBcryptCost < 12 {
		t.Errorf("password hashes get cost %d (default %d), want the default, at least 12", productionCost, app.DefaultBcryptCost)
	}
}
