package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/twilio/twilio-go/client"
)

// maxMedia is the most attachments Twilio puts on one inbound message.
const maxMedia = 10

// maxSIDLen bounds the MessageSid kept for idempotency; Twilio's are 34
// characters.
const maxSIDLen = 100

// whatsappPrefix marks a WhatsApp address in Twilio's From and To.
const whatsappPrefix = "whatsapp:"

// ParseInbound turns the parameters of Twilio's inbound-message webhook into
// a bot.Inbound. From "whatsapp:+2126…" gives the WhatsApp channel, a plain
// E.164 number gives SMS, and "whatsapp:MA.1502576394655843" a WhatsApp
// learner known by their business-scoped user id (BSUID) instead of their
// number; the learner ID is bot.LearnerID of the two (see bot.CheckAddress).
// A WhatsApp message from a number that carries the sender's BSUID in
// ExternalUserId ("MA.…", or "whatsapp:MA.…") sets Inbound.BSUID, so that
// the application remembers the pair; on a message from a BSUID, or by SMS,
// ExternalUserId says nothing more and is not read.
//
// A tapped button or list row arrives as ButtonPayload or ListId (with
// its words in ButtonText or ListTitle, and in Body): it becomes Payload.
//
// The body is passed through as it came, invalid UTF-8 and NUL bytes
// included: cleaning text is the engine's job. NumMedia is only a hint;
// every MediaUrlN present (N < 10) becomes a Media. Unknown parameters are
// ignored, as Twilio adds new ones without notice. Only the first value of a
// repeated parameter is read, the same one VerifySignature checks. At is
// left zero for the caller to set.
//
// Errors are of kind Invalid: From missing, on another channel (such as
// "messenger:"), or neither an E.164 number nor a BSUID (a BSUID by SMS
// included); an ExternalUserId on a WhatsApp message from a number that is
// not a BSUID; a MessageSid longer than 100 characters. They never repeat
// the address whole.
func ParseInbound(form url.Values) (bot.Inbound, error) {
	const op = "twilio.ParseInbound"
	from := form.Get("From")
	if from == "" {
		return bot.Inbound{}, bot.Errorf(op, bot.Invalid, "missing From")
	}
	ch, number, err := address(from)
	if err != nil {
		return bot.Inbound{}, bot.E(op, bot.Invalid, err)
	}
	id := firstOf(form, "MessageSid", "SmsMessageSid", "SmsSid")
	if len(id) > maxSIDLen {
		return bot.Inbound{}, bot.Errorf(op, bot.Invalid, "MessageSid longer than %d characters", maxSIDLen)
	}
	in := bot.Inbound{
		ID:          id,
		From:        bot.LearnerID(ch, number),
		Channel:     ch,
		Text:        form.Get("Body"),
		Payload:     firstOf(form, "ButtonPayload", "ListId"),
		ProfileName: form.Get("ProfileName"),
		Latitude:    form.Get("Latitude"),
		Longitude:   form.Get("Longitude"),
	}
	if ext := form.Get("ExternalUserId"); ext != "" && ch == bot.WhatsApp && !bot.ValidBSUID(number) {
		bsuid, ok := cutWhatsApp(ext)
		if !ok {
			bsuid = ext
		}
		if !bot.ValidBSUID(bsuid) {
			return bot.Inbound{}, bot.Errorf(op, bot.Invalid, "ExternalUserId %q: not a WhatsApp BSUID", bot.Mask(truncate(ext, 40)))
		}
		in.BSUID = bot.LearnerID(bot.WhatsApp, bsuid)
	}
	for i := range maxMedia {
		n := strconv.Itoa(i)
		u := form.Get("MediaUrl" + n)
		if u == "" {
			continue
		}
		in.Media = append(in.Media, bot.Media{URL: u, ContentType: form.Get("MediaContentType" + n)})
	}
	return in, nil
}

// address splits a Twilio address such as "whatsapp:+212600000001" or
// "whatsapp:MA.1502576394655843" into its channel and what follows: an
// E.164 number, or for WhatsApp a BSUID.
func address(s string) (bot.Channel, string, error) {
	ch, number := bot.SMS, s
	if rest, ok := cutWhatsApp(s); ok {
		ch, number = bot.WhatsApp, rest
	}
	switch err := bot.CheckAddress(bot.LearnerID(ch, number)); {
	case err == nil:
		return ch, number, nil
	case ch == bot.SMS && strings.Contains(number, ":"):
		return "", "", fmt.Errorf("From %q: channel not supported", bot.Mask(truncate(s, 40)))
	case ch == bot.SMS && bot.ValidBSUID(number):
		return "", "", fmt.Errorf("From %q: a BSUID without the whatsapp: channel", bot.Mask(s))
	case ch == bot.WhatsApp:
		return "", "", fmt.Errorf("From %q: not an E.164 number or a WhatsApp BSUID", bot.Mask(truncate(s, 40)))
	}
	return "", "", fmt.Errorf("From %q: not an E.164 number", bot.Mask(truncate(s, 40)))
}

// cutWhatsApp returns what follows "whatsapp:" (in any case) in s.
func cutWhatsApp(s string) (string, bool) {
	if len(s) >= len(whatsappPrefix) && strings.EqualFold(s[:len(whatsappPrefix)], whatsappPrefix) {
		return s[len(whatsappPrefix):], true
	}
	return "", false
}

// channelLabel names the channel of a From address for metrics, without
// validating it.
func channelLabel(from string) string {
	switch {
	case from == "":
		return "unknown"
	case len(from) >= len(whatsappPrefix) && strings.EqualFold(from[:len(whatsappPrefix)], whatsappPrefix):
		return string(bot.WhatsApp)
	case strings.HasPrefix(from, "+"):
		return string(bot.SMS)
	}
	return "unknown"
}

func firstOf(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := form.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// VerifySignature reports whether signature is Twilio's X-Twilio-Signature
// for a request to fullURL (scheme, host, path and query string, as Twilio
// called it) carrying the POST parameters form. Pass r.PostForm, never
// r.Form: r.Form mixes in the query string, which is already part of the
// URL.
//
// The reference is twilio-go's client.RequestValidator: HMAC-SHA1 keyed
// with the auth token over the URL followed by each parameter's name and
// value, names sorted, compared in constant time, with and without the
// default port. Like twilio-go's ValidateBody, it reads the first value of
// a repeated parameter (Twilio sends none). An empty token or signature
// never verifies.
//
// Every webhook pays for this check, so the URL exactly as given is tried
// first with one HMAC over one buffer; twilio-go's validator decides
// whatever that does not accept (the port variants). The fast path accepts
// only what twilio-go accepts: FuzzSignatureFastPath and
// TestVerifySignatureAgreesWithTwilioGo hold them together.
func VerifySignature(token, fullURL string, form url.Values, signature string) bool {
	if token == "" || signature == "" {
		return false
	}
	if signatureMatches(token, fullURL, form, signature) {
		return true
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			params[k] = vs[0]
		} else {
			params[k] = ""
		}
	}
	v := client.NewRequestValidator(token)
	return v.Validate(fullURL, params, signature)
}

// signatureMatches computes the signature over fullURL as given.
func signatureMatches(token, fullURL string, form url.Values, signature string) bool {
	keys := make([]string, 0, len(form))
	n := len(fullURL)
	for k, vs := range form {
		keys = append(keys, k)
		n += len(k)
		if len(vs) > 0 {
			n += len(vs[0])
		}
	}
	slices.Sort(keys)
	buf := make([]byte, 0, n)
	buf = append(buf, fullURL...)
	for _, k := range keys {
		buf = append(buf, k...)
		if vs := form[k]; len(vs) > 0 {
			buf = append(buf, vs[0]...)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write(buf)
	// Compared as text, as twilio-go does: a signature in another base64
	// spelling of the same bytes is not Twilio's.
	got := base64.StdEncoding.AppendEncode(nil, mac.Sum(nil))
	return hmac.Equal(got, []byte(signature))
}
