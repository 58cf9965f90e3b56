package bot

import (
	"testing"
)

func TestErrorCodeLabel(t *testing.T) {
	for code, want := range map[int]string{0: "none", -1: "other", 100000: "other", 63016: "63016", 21610: "21610"} {
		if got := ErrorCodeLabel(code); got != want {
			t.Errorf("ErrorCodeLabel(%d) = %q, want %q", code, got, want)
		}
	}
	// Past the bound, new codes are "other"; codes already named keep
	// their name.
	labels := map[string]bool{}
	for code := 10000; code < 10000+2*MaxErrorCodeLabels; code++ {
		labels[ErrorCodeLabel(code)] = true
	}
	if len(labels) > MaxErrorCodeLabels+1 || !labels["other"] {
		t.Errorf("%d distinct labels for %d codes, want at most %d and \"other\"", len(labels), 2*MaxErrorCodeLabels, MaxErrorCodeLabels+1)
	}
	if got := ErrorCodeLabel(63016); got != "63016" {
		t.Errorf("ErrorCodeLabel(63016) after the bound = %q, want it kept", got)
	}
	if got := ErrorCodeLabel(10000 + 2*MaxErrorCodeLabels - 1); got != "other" {
		t.Errorf("a code first seen past the bound = %q, want other", got)
	}
}
