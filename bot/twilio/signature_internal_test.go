package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"slices"
	"testing"

	"github.com/twilio/twilio-go/client"
)

// reference is twilio-go's own check.
func reference(token, fullURL string, form url.Values, signature string) bool {
	params := map[string]string{}
	for k, vs := range form {
		params[k] = ""
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	v := client.NewRequestValidator(token)
	return v.Validate(fullURL, params, signature)
}

// sign is the documented algorithm, written plainly.
func sign(token, fullURL string, form url.Values) string {
	s := fullURL
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range form {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		s += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestVerifySignatureAgreesWithTwilioGo(t *testing.T) {
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"}, "From": {"+12349013030"}, "To": {"+18005551212"}}
	const vector = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	for _, tc := range []struct {
		url, sig  string
		fast, ref bool
	}{
		{"https://mycompany.com/myapp.php?foo=1&bar=2", vector, true, true},
		// The port variant: only twilio-go's validator knows it.
		{"https://mycompany.com:443/myapp.php?foo=1&bar=2", vector, false, true},
		{"https://mycompany.com/myapp.php?foo=1&bar=3", vector, false, false},
		// Another base64 spelling of the same bytes is not Twilio's.
		{"https://mycompany.com/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgR=", false, false},
	} {
		fast := signatureMatches("12345", tc.url, form, tc.sig)
		ref := reference("12345", tc.url, form, tc.sig)
		if fast != tc.fast || ref != tc.ref {
			t.Errorf("%s %s: fast %v, twilio-go %v; want %v, %v", tc.url, tc.sig, fast, ref, tc.fast, tc.ref)
		}
		if got := VerifySignature("12345", tc.url, form, tc.sig); got != tc.ref {
			t.Errorf("%s %s: VerifySignature %v, want twilio-go's %v", tc.url, tc.sig, got, tc.ref)
		}
	}
}

// FuzzSignatureFastPath holds the fast path to twilio-go's validator: it
// never accepts what twilio-go refuses, and accepts every signature of the
// URL as given.
func FuzzSignatureFastPath(f *testing.F) {
	f.Add("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", "CallSid=CA1234567890ABCDE&Caller=%2B12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
	f.Add("t", "https://h:443/x", "a=1&a=2&b=", "AAAA")
	f.Fuzz(func(t *testing.T, token, rawURL, params, signature string) {
		if token == "" {
			return
		}
		form, _ := url.ParseQuery(params)
		if signatureMatches(token, rawURL, form, signature) && !reference(token, rawURL, form, signature) {
			t.Fatalf("fast path accepts %q for %q %v; twilio-go refuses", signature, rawURL, form)
		}
		good := sign(token, rawURL, form)
		if !signatureMatches(token, rawURL, form, good) {
			t.Fatalf("fast path refuses the signature of %q %v", rawURL, form)
		}
		if !reference(token, rawURL, form, good) {
			t.Fatalf("twilio-go refuses the signature of %q %v", rawURL, form)
		}
	})
}
