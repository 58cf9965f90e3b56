package httpstatus

import (
	"errors"
	"fmt"
	"testing"

	"github.com/darsi-ma/darsi/bot"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{bot.Errorf("op", bot.Invalid, "bad"), 400},
		{bot.Errorf("op", bot.NotFound, "none"), 404},
		{bot.Errorf("op", bot.Forbidden, "not yours"), 403},
		{bot.Errorf("op", bot.Conflict, "lost"), 409},
		{fmt.Errorf("wrapped: %w", bot.Errorf("op", bot.Unavailable, "down")), 503},
		{errors.New("plain"), 500},
	} {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("Of(%v): got %d, want %d", tc.err, got, tc.want)
		}
	}
}
