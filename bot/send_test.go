package bot_test

import (
	"context"
	"errors"
	"testing"

	"github.com/darsi-ma/darsi/bot"
)

func TestSendClassZeroIsPermanent(t *testing.T) {
	var c bot.SendClass
	if c != bot.Permanent {
		t.Errorf("zero SendClass: got %s, want %s", c, bot.Permanent)
	}
	if se := (&bot.SendError{}); se.Class != bot.Permanent {
		t.Errorf("unclassified SendError: got %s, want %s", se.Class, bot.Permanent)
	}
}

func TestSendErrorText(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	for _, tt := range []struct {
		name string
		err  *bot.SendError
		want string
	}{
		{"twilio's answer", &bot.SendError{Class: bot.RetryLater, Code: 63018, HTTPStatus: 429, Message: "Rate limit exceeded", Err: cause},
			"twilio: retry later: error 63018 (HTTP 429): Rate limit exceeded"},
		{"no answer", &bot.SendError{Class: bot.RetryLater, Err: cause},
			"twilio: retry later: dial tcp: connection refused"},
		{"needs template", &bot.SendError{Class: bot.NeedsTemplate, Code: 63016, HTTPStatus: 400},
			"twilio: needs template: error 63016 (HTTP 400)"},
		{"opted out", &bot.SendError{Class: bot.OptedOut, Code: 21610, Message: "unsubscribed"},
			"twilio: opted out: error 21610: unsubscribed"},
		{"unclassified", &bot.SendError{HTTPStatus: 404},
			"twilio: permanent failure (HTTP 404)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSendErrorKind checks that the kind a sender gives the cause reaches
// callers through the SendError, and so does the cause itself.
func TestSendErrorKind(t *testing.T) {
	var err error = &bot.SendError{Class: bot.RetryLater, Err: bot.E("twilio.Send", bot.Unavailable, context.DeadlineExceeded)}
	if k := bot.KindOf(err); k != bot.Unavailable {
		t.Errorf("KindOf: got %s, want %s", k, bot.Unavailable)
	}
	var be *bot.Error
	if !errors.As(err, &be) || be.Op != "twilio.Send" {
		t.Errorf("errors.As *bot.Error: got %v, want the sender's error", be)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded): got false, want true", err)
	}
	var se *bot.SendError
	if !errors.As(err, &se) || se.Class != bot.RetryLater {
		t.Errorf("errors.As *bot.SendError: got %v, want the SendError", se)
	}
}
