package twilio_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTwiML(t *testing.T) {
	para := strings.Repeat("x", 700)
	emoji := strings.Repeat("🙂", 1000) // 1,000 characters, 2,000 UTF-16 units
	for _, tc := range []struct {
		name    string
		replies []bot.Reply
		want    []twimlMsg
	}{
		{"none", nil, nil},
		{"blank replies dropped", []bot.Reply{{Text: ""}, {Text: " \n "}}, nil},
		{"one", []bot.Reply{{Text: "Salam"}}, []twimlMsg{{Body: "Salam"}}},
		{
			"joined with a blank line",
			[]bot.Reply{{Text: "a"}, {Text: "b"}, {Text: "c"}},
			[]twimlMsg{{Body: "a\n\nb\n\nc"}},
		},
		{
			"joined up to 1,600 exactly",
			[]bot.Reply{{Text: strings.Repeat("a", 799)}, {Text: strings.Repeat("b", 799)}},
			[]twimlMsg{{Body: strings.Repeat("a", 799) + "\n\n" + strings.Repeat("b", 799)}},
		},
		{
			"split at reply boundaries",
			[]bot.Reply{{Text: para}, {Text: para}, {Text: para}},
			[]twimlMsg{{Body: para + "\n\n" + para}, {Body: para}},
		},
		{
			"text, media, text",
			[]bot.Reply{{Text: "avant"}, {Text: "légende", Media: "https://cdn.example.org/a.jpg"}, {Text: "après"}, {Text: "fin"}},
			[]twimlMsg{
				{Body: "avant"},
				{Body: "légende", Media: []string{"https://cdn.example.org/a.jpg"}},
				{Body: "après\n\nfin"},
			},
		},
		{
			"media without text",
			[]bot.Reply{{Media: "https://cdn.example.org/a.ogg"}},
			[]twimlMsg{{Media: []string{"https://cdn.example.org/a.ogg"}}},
		},
		{
			"escaping",
			[]bot.Reply{{Text: `<b> & "quotes" 'x' ]]>`}},
			[]twimlMsg{{Body: `<b> & "quotes" 'x' ]]>`}},
		},
		{
			"characters XML cannot carry",
			[]bot.Reply{{Text: "a\x00b\x01c\xffd"}},
			[]twimlMsg{{Body: "a\uFFFDb\uFFFDc\uFFFDd"}},
		},
		{
			"right-to-left and Tifinagh",
			[]bot.Reply{{Text: "مرحبا بيك"}, {Text: "ⴰⵣⵓⵍ"}},
			[]twimlMsg{{Body: "مرحبا بيك\n\nⴰⵣⵓⵍ"}},
		},
		{
			"a piece of whitespace only is dropped",
			[]bot.Reply{{Text: strings.Repeat("\t", 1000) + " " + strings.Repeat("x", 1000)}},
			[]twimlMsg{{Body: strings.Repeat("x", 1000)}},
		},
		{
			"line ends normalised",
			[]bot.Reply{{Text: "a\r\nb\rc"}},
			[]twimlMsg{{Body: "a\nb\nc"}},
		},
		{
			"astral characters count twice",
			[]bot.Reply{{Text: emoji}},
			[]twimlMsg{{Body: strings.Repeat("🙂", 800)}, {Body: strings.Repeat("🙂", 200)}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := twilio.TwiML(tc.replies)
			if err != nil {
				t.Fatal(err)
			}
			got := parseTwiML(t, out)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, out)
			}
			checkLimits(t, got)
		})
	}
}

// TestTwiMLSplitsLongReply checks where a reply over 1,600 characters is
// cut: at a paragraph, then a line, then a space, and nothing is lost.
func TestTwiMLSplitsLongReply(t *testing.T) {
	words := strings.Repeat("dirham ", 300)                     // 2,100 characters, spaces only
	lines := strings.Repeat("Une ligne de texte.\n", 120)       // 2,400 characters
	paras := strings.Repeat(strings.Repeat("p", 500)+"\n\n", 5) // paragraphs of 500
	solid := strings.Repeat("ⵣ", 4000)                          // no boundary at all
	for _, tc := range []struct {
		name string
		text string
		want int // messages
	}{
		{"words", words, 2},
		{"lines", lines, 2},
		{"paragraphs", paras, 2},
		{"no boundary", solid, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := twilio.TwiML([]bot.Reply{{Text: tc.text}})
			if err != nil {
				t.Fatal(err)
			}
			got := parseTwiML(t, out)
			if len(got) != tc.want {
				t.Errorf("got %d messages, want %d", len(got), tc.want)
			}
			checkLimits(t, got)
			// Nothing lost but the whitespace at the cuts.
			var joined strings.Builder
			for _, m := range got {
				joined.WriteString(m.Body)
			}
			if squeeze(joined.String()) != squeeze(tc.text) {
				t.Errorf("text changed by splitting")
			}
			for _, m := range got[:len(got)-1] {
				if tc.name == "words" && !strings.HasSuffix(m.Body, "dirham") {
					t.Errorf("cut inside a word: …%q", m.Body[len(m.Body)-10:])
				}
				if tc.name == "lines" && !strings.HasSuffix(m.Body, "texte.") {
					t.Errorf("cut inside a line: …%q", m.Body[len(m.Body)-10:])
				}
				if tc.name == "paragraphs" && strings.HasSuffix(m.Body, "\n") {
					t.Errorf("cut left a trailing newline")
				}
			}
		})
	}
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

func checkLimits(tb testing.TB, msgs []twimlMsg) {
	tb.Helper()
	for i, m := range msgs {
		if n := len(utf16.Encode([]rune(m.Body))); n > bot.MaxBody {
			tb.Errorf("message %d: %d UTF-16 units, over %d", i, n, bot.MaxBody)
		}
		if len(m.Media) > 1 {
			tb.Errorf("message %d: %d media, WhatsApp takes one", i, len(m.Media))
		}
		if m.Body == "" && len(m.Media) == 0 {
			tb.Errorf("message %d is empty", i)
		}
	}
}
