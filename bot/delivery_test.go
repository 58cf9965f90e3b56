package bot

import "testing"

func TestDeliveryStatusAfter(t *testing.T) {
	for _, tc := range []struct {
		prev, next DeliveryStatus
		want       bool
	}{
		{"", StatusQueued, true},
		{StatusQueued, StatusSent, true},
		{StatusSent, StatusQueued, false},
		{StatusSent, StatusDelivered, true},
		{StatusDelivered, StatusSent, false},
		{StatusSent, StatusFailed, true},
		{StatusDelivered, StatusFailed, false},
		{StatusDelivered, StatusRead, true},
		{StatusRead, StatusDelivered, false},
		{StatusSent, StatusSent, false},
		{StatusSent, "exploded", false},
	} {
		if got := tc.next.After(tc.prev); got != tc.want {
			t.Errorf("%q after %q: got %v, want %v", tc.next, tc.prev, got, tc.want)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"whatsapp:+212600000001": "whatsapp:+2126******01",
		"+212600000001":          "+2126******01",
		"sms:12345":              "sms:*****",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestDeliveryStatusReplaces(t *testing.T) {
	got := map[DeliveryStatus]bool{}
	for _, p := range StatusDelivered.Replaces() {
		got[p] = true
	}
	for _, p := range []DeliveryStatus{StatusAccepted, StatusScheduled, StatusQueued, StatusSending, StatusSent, StatusFailed, StatusUndelivered, StatusCanceled} {
		if !got[p] {
			t.Errorf("delivered does not replace %q", p)
		}
	}
	if got[StatusRead] || got[StatusDelivered] || len(got) != 8 {
		t.Errorf("delivered replaces %v", got)
	}
	if r := DeliveryStatus("exploded").Replaces(); len(r) != 0 {
		t.Errorf("an unknown status replaces %v", r)
	}
}
