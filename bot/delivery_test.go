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
		"whatsapp:+212600000001":               "whatsapp:+2126******01",
		"+212600000001":                        "+2126******01",
		"sms:12345":                            "sms:*****",
		"whatsapp:MA.1502576394655843":         "whatsapp:MA.15…43",
		"MA.1502576394655843":                  "MA.15…43",
		"whatsapp:US.ENT.11815799212886844830": "whatsapp:US.EN…30",
		"whatsapp:MA.1234":                     "whatsapp:MA.…",
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

func TestDeliveryAdvance(t *testing.T) {
	sent := Delivery{SID: "SM1", To: "whatsapp:+212600000001", JobID: "j1", Status: StatusSent}
	tests := []struct {
		name        string
		d, prev     Delivery
		want        Delivery
		wantForward bool
	}{
		{"first report", sent, Delivery{}, sent, true},
		{"forward, empty fields kept", Delivery{SID: "SM1", Status: StatusDelivered}, sent,
			Delivery{SID: "SM1", To: sent.To, JobID: "j1", Status: StatusDelivered}, true},
		{"backward: a late sent after read", Delivery{SID: "SM1", Status: StatusSent},
			Delivery{SID: "SM1", Status: StatusRead}, Delivery{SID: "SM1", Status: StatusRead}, false},
		{"the same status again", sent, sent, sent, false},
		{"an unknown status never moves", Delivery{SID: "SM1", Status: "exploded"}, Delivery{}, Delivery{}, false},
	}
	for _, tt := range tests {
		got, forward := tt.d.Advance(tt.prev)
		if got != tt.want || forward != tt.wantForward {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, forward, tt.want, tt.wantForward)
		}
	}
}
