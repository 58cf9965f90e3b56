package twilio_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// FuzzParseInbound parses random form bodies: it never panics, and a
// message it accepts has a sender on a channel the bot serves.
func FuzzParseInbound(f *testing.F) {
	for _, p := range []string{waText, waVoiceNote, waImage, waLocation, waButton, smsText,
		"From=%2B1", "From=whatsapp%3A%2B2126&Body=%00%FF", "From=whatsapp:+212600000001", "MediaUrl9=x&From=%2B12345678",
		"From=WHATSAPP%3A%2B212600000001&MessageSid=", "a=1&&b=%zz&From",
		"From=whatsapp%3AMA.1502576394655843", "From=whatsapp%3A%2B212600000001&ExternalUserId=MA.1502576394655843",
		"From=whatsapp%3AUS.ENT.1&ExternalUserId=x", "From=MA.1"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body) // a partial parse is what a lenient reader would get
		in, err := twilio.ParseInbound(form)
		if err != nil {
			if bot.KindOf(err) != bot.Invalid {
				t.Fatalf("error of kind %s: %v", bot.KindOf(err), err)
			}
			return
		}
		if in.From == "" {
			t.Fatal("accepted a message without a sender")
		}
		if in.Channel != bot.WhatsApp && in.Channel != bot.SMS {
			t.Fatalf("channel %q", in.Channel)
		}
		ch, _ := bot.SplitLearnerID(in.From)
		if ch != in.Channel || bot.CheckAddress(in.From) != nil {
			t.Fatalf("learner ID %q on channel %q", in.From, in.Channel)
		}
		if in.BSUID != "" && (!bot.IsBSUID(in.BSUID) || bot.IsBSUID(in.From) || in.Channel != bot.WhatsApp) {
			t.Fatalf("BSUID %q beside %q", in.BSUID, in.From)
		}
		if len(in.Media) > 10 {
			t.Fatalf("%d media", len(in.Media))
		}
		if in.Text != form.Get("Body") {
			t.Fatalf("text changed: %q, body %q", in.Text, form.Get("Body"))
		}
		// Whatever the learner wrote can be echoed back as TwiML.
		checkTwiML(t, []bot.Reply{{Text: in.Text}, {Text: in.ProfileName, Media: in.Payload}})
	})
}

// FuzzVerifySignature checks random URLs, parameters and signatures: it
// never panics, what the signing helper computes always verifies, and a
// signature with one byte changed never does.
func FuzzVerifySignature(f *testing.F) {
	f.Add(vectorToken, vectorURL, "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212", vectorSignature, uint8(0))
	f.Add(testToken, testPublic+"/twilio/messages?tenant=ma", waText, "", uint8(7))
	f.Add("t", "http://[::1]:80/x?%zz", "a=1&a=2&=&b", "////", uint8(27))
	f.Add("t", "https://h:443", "", "AAAA", uint8(3))
	f.Add("t", "://bad url", "x=%FF", "\x00", uint8(200))
	f.Fuzz(func(t *testing.T, token, rawURL, params, signature string, flip uint8) {
		form, _ := url.ParseQuery(params)
		// Random input: any answer, but no panic.
		twilio.VerifySignature(token, rawURL, form, signature)
		if token == "" {
			if twilio.VerifySignature(token, rawURL, form, twiliotest.Signature(token, rawURL, form)) {
				t.Fatal("verified with an empty token")
			}
			return
		}
		good := twiliotest.Signature(token, rawURL, form)
		if !twilio.VerifySignature(token, rawURL, form, good) {
			t.Fatalf("helper's signature %q does not verify for %q %v", good, rawURL, form)
		}
		b := []byte(good)
		i := int(flip) % len(b)
		b[i] ^= 1 + flip%0x7f
		if twilio.VerifySignature(token, rawURL, form, string(b)) {
			t.Fatalf("signature with byte %d changed (%q) verifies", i, b)
		}
	})
}

// FuzzTwiML renders random replies: always well-formed XML, every message
// within Twilio's limit, and no text lost but whitespace at the cuts. The
// texts are short inputs repeated, so that long replies come from small
// inputs (quick to mutate and minimize).
func FuzzTwiML(f *testing.F) {
	f.Add("Salam", "", "Suite", uint16(1), 3)
	f.Add("mot ", "https://cdn.example.org/a.jpg", "ⵣ", uint16(900), 1)
	f.Add("ligne\n", "", "🙂", uint16(500), 2)
	f.Add("\x00\xff<&>", "/media/x.png", "\n\n", uint16(400), 2)
	f.Add("\xdf", "0", "\x99", uint16(1), 2) // bytes of two replies that would make one character
	f.Add("0", "0", "\v", uint16(1), 3)      // a blank caption
	f.Fuzz(func(t *testing.T, a, media, b string, reps uint16, n int) {
		if len(a)*int(reps) > 20000 || len(b)*int(reps) > 20000 {
			return
		}
		a, b = strings.Repeat(a, int(reps)), strings.Repeat(b, int(reps))
		var rs []bot.Reply
		for range n % 5 {
			rs = append(rs, bot.Reply{Text: a}, bot.Reply{Text: b, Media: media})
		}
		checkTwiML(t, rs)
	})
}

func checkTwiML(t *testing.T, rs []bot.Reply) {
	t.Helper()
	out, err := twilio.TwiML(rs)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"Response"`
		Messages []struct {
			Text  string   `xml:",chardata"`
			Body  string   `xml:"Body"`
			Media []string `xml:"Media"`
		} `xml:"Message"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	// clean keeps what must survive: not whitespace (trimmed at cuts,
	// blank replies dropped), nor what XML cannot carry (it comes out as
	// U+FFFD).
	clean := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if unicode.IsSpace(r) || r < 0x20 || r == 0xFFFD || r == 0xFFFE || r == 0xFFFF {
				continue
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	var got, want strings.Builder
	media := 0
	for _, m := range doc.Messages {
		body := m.Text + m.Body
		if n := len(utf16.Encode([]rune(body))); n > bot.MaxBody {
			t.Fatalf("message of %d UTF-16 units", n)
		}
		if strings.TrimSpace(body) == "" && len(m.Media) == 0 {
			t.Fatal("empty message")
		}
		got.WriteString(clean(body))
		media += len(m.Media)
	}
	wantMedia := 0
	for _, r := range rs {
		want.WriteString(clean(r.Text)) // each on its own: bytes of two replies never make one character
		if r.Media != "" {
			wantMedia++
		}
	}
	if media != wantMedia {
		t.Fatalf("got %d media, want %d", media, wantMedia)
	}
	if g, w := got.String(), want.String(); g != w {
		t.Fatalf("text changed:\ngot  %q\nwant %q", g, w)
	}
}

// FuzzValidSID checks the SID validators against their definition on
// random strings and prefixes: a SID is exactly its two capital letters
// and 32 hexadecimal digits; a message SID is an SM or MM SID, an account
// SID an AC one; and a valid SID stays valid in either case of its digits.
func FuzzValidSID(f *testing.F) {
	for _, s := range []string{"SM" + hex32, "MM" + hex32, "AC" + hex32, "SMr2NumMedia0", "", "AC", "ac" + hex32,
		"SM" + hex32 + "\n", "SM" + hex32[:30] + "٣", "CA" + strings.ToUpper(hex32)} {
		f.Add(s, "SM")
		f.Add(s, s[:min(2, len(s))])
	}
	f.Fuzz(func(t *testing.T, s, prefix string) {
		got := twilio.ValidSID(s, prefix)
		want := len(prefix) == 2 && prefix[0] >= 'A' && prefix[0] <= 'Z' && prefix[1] >= 'A' && prefix[1] <= 'Z' &&
			strings.HasPrefix(s, prefix) && len(s) == 34 && strings.Trim(s[2:], "0123456789abcdefABCDEF") == ""
		if got != want {
			t.Fatalf("ValidSID(%q, %q): got %v, want %v", s, prefix, got, want)
		}
		if got && (!twilio.ValidSID(prefix+strings.ToUpper(s[2:]), prefix) || !twilio.ValidSID(prefix+strings.ToLower(s[2:]), prefix)) {
			t.Fatalf("ValidSID(%q, %q): the same digits in another case are refused", s, prefix)
		}
		if m := twilio.ValidMessageSID(s); m != (twilio.ValidSID(s, "SM") || twilio.ValidSID(s, "MM")) {
			t.Fatalf("ValidMessageSID(%q): got %v", s, m)
		}
		if a := twilio.ValidAccountSID(s); a != twilio.ValidSID(s, "AC") {
			t.Fatalf("ValidAccountSID(%q): got %v", s, a)
		}
	})
}

// FuzzWebhookSIDs posts signed forms with random MessageSid and AccountSid
// values: the app is called exactly when both are in Twilio's format and
// the account is ours, every refusal is a 4xx, and nothing panics.
func FuzzWebhookSIDs(f *testing.F) {
	f.Add("SM"+hex32, testAccount)
	f.Add("MM"+hex32, testAccount)
	f.Add("SMr2NumMedia0", testAccount)
	f.Add("SM"+hex32, "AC"+strings.Repeat("f", 32))
	f.Add("", "")
	f.Add("SM"+hex32+"\x00", testAccount+" ")
	f.Fuzz(func(t *testing.T, messageSID, accountSID string) {
		form := url.Values{
			"MessageSid": {messageSID}, "AccountSid": {accountSID},
			"From": {"whatsapp:+212600000001"}, "Body": {"Salam"},
		}
		fa := &fakeApp{}
		wh := twilio.NewWebhook(fa, nil, twilio.WebhookConfig{AuthToken: testToken, AccountSID: testAccount, PublicURL: testPublic})
		req := httptest.NewRequest(http.MethodPost, "/twilio/messages", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Signature(testToken, testPublic+"/twilio/messages", form))
		rec := httptest.NewRecorder()
		wh.Messages().ServeHTTP(rec, req)
		good := twilio.ValidMessageSID(messageSID) && strings.EqualFold(accountSID, testAccount) && twilio.ValidAccountSID(accountSID)
		called := len(fa.Calls()) == 1
		switch {
		case good && (rec.Code != http.StatusOK || !called):
			t.Fatalf("MessageSid %q, AccountSid %q: got %d (app called: %v), want 200", messageSID, accountSID, rec.Code, called)
		case !good && (rec.Code/100 != 4 || called):
			t.Fatalf("MessageSid %q, AccountSid %q: got %d (app called: %v), want a 4xx", messageSID, accountSID, rec.Code, called)
		}
	})
}
