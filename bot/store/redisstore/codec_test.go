package redisstore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/google/go-cmp/cmp"
)

// instants compares times as instants, as the conformance suite does.
var instants = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// typical is a learner in the middle of a lesson: a few variables, three
// lessons done.
func typical(now time.Time) bot.Learner {
	return bot.Learner{
		ID:       "whatsapp:+212600000001",
		Channel:  bot.WhatsApp,
		Lang:     bot.Darija,
		Consent:  true,
		Cohort:   "tiznit-2025",
		Phase:    bot.PhaseLesson,
		Position: bot.Position{Course: "costing", Lesson: "costing-4", Step: "units", Index: 3},
		Asked:    2,
		Right:    1,
		Vars:     map[string]string{"materials": "120", "units": "8", "unit_cost": "15"},
		Indicators: map[string]string{
			"revenue_stable": "yes",
		},
		Completed: []bot.Completion{
			{Lesson: "costing-1", Score: 100, At: now.Add(-72 * time.Hour)},
			{Lesson: "costing-2", Score: 67, At: now.Add(-48 * time.Hour)},
			{Lesson: "costing-3", Score: 50, At: now.Add(-24 * time.Hour)},
		},
		LastInboundAt: now,
		UpdatedAt:     now,
		Version:       42,
	}
}

func TestLearnerRoundTrip(t *testing.T) {
	casa := time.FixedZone("+01", 3600)
	cases := map[string]bot.Learner{
		"new": {ID: "sms:+1"},
		// A field added later, set alone: those before it are written empty.
		"BSUID, nothing after the version": {ID: "whatsapp:+212600000001", BSUID: "whatsapp:MA.1502576394655843", Version: 3},
		"typical":                          typical(time.Date(2025, 3, 14, 9, 26, 53, 589793238, casa)),
		"unclear":                          {ID: "whatsapp:+212600000002", Phase: bot.PhaseAsk, Misses: 2, Unclear: "pas clair\nوالو"},
		"edges": {
			ID:       "sim:{x}%7B",
			Tries:    -1,
			Misses:   1 << 40,
			Version:  1<<63 - 1,
			Vars:     map[string]string{"": "", "k": "v\x00\xff"},
			OptedOut: true,
			Review:   "costing-1/what-counts",
			Completed: []bot.Completion{
				{Lesson: "a", Score: -5, At: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
				{Lesson: "b", At: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(9*3600+30*60)))},
				{Lesson: "c", At: time.Unix(0, 0)},
			},
			LastInboundAt: time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC),
		},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			v := encodeLearner(&want, 7)
			got, err := decodeLearner(string(v), want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want, instants); diff != "" {
				t.Errorf("round trip (-got +want):\n%s", diff)
			}
			// The offset survives too, as JSON keeps it.
			if len(want.Completed) > 0 {
				_, wo := want.Completed[0].At.Zone()
				_, gotOff := got.Completed[0].At.Zone()
				if wo != gotOff {
					t.Errorf("offset = %d, want %d", gotOff, wo)
				}
			}
		})
	}
}

// TestCodecCoversEveryField fills every field of bot.Learner, and catches a
// field added to the learner but not to the codec, which would otherwise be
// dropped silently on the first save.
func TestCodecCoversEveryField(t *testing.T) {
	var want bot.Learner
	n := 0
	fill(reflect.ValueOf(&want).Elem(), &n)
	got, err := decodeLearner(string(encodeLearner(&want, 1)), want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want, instants); diff != "" {
		t.Errorf("a field does not survive the codec (-got +want):\n%s", diff)
	}
}

// fill gives every field of v a distinct value that is not zero.
func fill(v reflect.Value, n *int) {
	*n++
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2025, 1, 1, 0, 0, *n, *n, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	case reflect.String:
		v.SetString(fmt.Sprint("s", *n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, n)
		fill(e, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), n)
		v.Set(s)
	default:
		panic(fmt.Sprintf("fill: a field of kind %s: teach fill and the codec about it", v.Kind()))
	}
}

func TestRepliesRoundTrip(t *testing.T) {
	for _, want := range [][]bot.Reply{
		nil,
		{{Text: "مرحبا! اختار اللغة:\n1 الدارجة / Darija"}, {Text: "Regarde :", Media: "https://example.org/m/cout.jpg"}},
		{{}},
		{{Text: "1. Oui\n2. Non"}, {Text: "Choisis :\n1. A\n2. B", Choice: &bot.Choice{Scope: "costing-1/q", Lang: bot.French, Body: "Choisis :",
			Options: []bot.ChoiceOption{{ID: "darsi:costing-1/q#1", Title: "A"}, {ID: "darsi:costing-1/q#2", Title: "B"}}}}},
	} {
		got, err := decodeReplies(string(encodeReplies(want, 3)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("round trip (-got +want):\n%s", diff)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := string(encodeLearner(&bot.Learner{Vars: map[string]string{"a": "b"}}, 0))
	for name, v := range map[string]string{
		"empty":        "",
		"short header": "\x01abc",
		"format":       "\x02" + good[1:],
		"truncated":    good[:len(good)-1],
		"extra":        good + "x",
		"huge count":   good[:9] + "\xff\xff\xff\xff\x0f",
	} {
		if _, err := decodeLearner(v, "sms:+1"); err == nil {
			t.Errorf("%s: decodeLearner succeeded, want an error", name)
		}
	}
}

func FuzzDecodeLearner(f *testing.F) {
	l := typical(time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC))
	f.Add(string(encodeLearner(&l, 9)))
	f.Add(string(encodeReplies([]bot.Reply{{Text: "x", Media: "y"}}, 9)))
	f.Fuzz(func(t *testing.T, v string) {
		l, err := decodeLearner(v, "sms:+1")
		if err != nil {
			return
		}
		// What decodes encodes back to the same learner.
		again, err := decodeLearner(string(encodeLearner(&l, 0)), "sms:+1")
		if err != nil {
			t.Fatalf("re-encoded learner does not decode: %v", err)
		}
		if diff := cmp.Diff(again, l, instants); diff != "" {
			t.Errorf("re-encoded learner differs (-again +first):\n%s", diff)
		}
		_, _ = decodeReplies(v)
	})
}

// TestEncodingIsCompact compares with the JSON the embedded store writes,
// and keeps the encoding honest as fields are added.
func TestEncodingIsCompact(t *testing.T) {
	l := typical(time.Now())
	bin := encodeLearner(&l, 0)
	js, err := json.Marshal(&l)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("typical learner: %d bytes encoded, %d as JSON", len(bin), len(js))
	if len(bin) > 256 {
		t.Errorf("typical learner takes %d bytes encoded, want at most 256", len(bin))
	}
}
