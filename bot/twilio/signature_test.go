package twilio_test

import (
	"net/url"
	"testing"

	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/twilio/twilio-go/client"
)

// The example of Twilio's webhook security documentation.
var (
	vectorURL    = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorToken  = "12345"
	vectorParams = url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
	vectorSignature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

func TestDocumentedVector(t *testing.T) {
	if got := twiliotest.Signature(vectorToken, vectorURL, vectorParams); got != vectorSignature {
		t.Errorf("twiliotest.Signature: got %q, want %q", got, vectorSignature)
	}
	v := client.NewRequestValidator(vectorToken)
	if !v.Validate(vectorURL, firstValues(vectorParams), vectorSignature) {
		t.Error("twilio-go rejects the documented vector")
	}
	if !twilio.VerifySignature(vectorToken, vectorURL, vectorParams, vectorSignature) {
		t.Error("VerifySignature rejects the documented vector")
	}
}

func TestVerifySignature(t *testing.T) {
	with := func(k, v string) url.Values {
		f := url.Values{}
		for k, vs := range vectorParams {
			f[k] = vs
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		name      string
		token     string
		url       string
		form      url.Values
		signature string
		want      bool
	}{
		{"documented", vectorToken, vectorURL, vectorParams, vectorSignature, true},
		{"with default port", vectorToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", vectorParams, vectorSignature, true},
		{"query reordered", vectorToken, "https://mycompany.com/myapp.php?bar=2&foo=1", vectorParams, vectorSignature, false},
		{"query dropped", vectorToken, "https://mycompany.com/myapp.php", vectorParams, vectorSignature, false},
		{"http", vectorToken, "http://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, vectorSignature, false},
		{"param changed", vectorToken, vectorURL, with("Digits", "1235"), vectorSignature, false},
		{"param added", vectorToken, vectorURL, with("Body", ""), vectorSignature, false},
		{"other token", "54321", vectorURL, vectorParams, vectorSignature, false},
		{"empty token", "", vectorURL, vectorParams, twiliotest.Signature("", vectorURL, vectorParams), false},
		{"empty signature", vectorToken, vectorURL, vectorParams, "", false},
		{"unpadded", vectorToken, vectorURL, vectorParams, "0/KCTR6DLpKmkAf8muzZqo1nDgQ", false},
		{"url-safe base64", vectorToken, vectorURL, vectorParams, "0_KCTR6DLpKmkAf8muzZqo1nDgQ=", false},
		{"no params", vectorToken, vectorURL, nil, twiliotest.Signature(vectorToken, vectorURL, nil), true},
		{
			"repeated parameter: first value signed",
			vectorToken, vectorURL, url.Values{"From": {"+1", "+2"}},
			twiliotest.Signature(vectorToken, vectorURL, url.Values{"From": {"+1"}}), true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := twilio.VerifySignature(tc.token, tc.url, tc.form, tc.signature); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
