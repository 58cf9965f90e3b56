package twilio_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseInbound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		form    string
		want    bot.Inbound
		wantErr bool
	}{
		{name: "whatsapp", form: "From=whatsapp%3A%2B212600000001&MessageSid=SM1&Body=hi",
			want: bot.Inbound{ID: "SM1", From: "whatsapp:+212600000001", Channel: bot.WhatsApp, Text: "hi"}},
		{name: "whatsapp prefix in capitals", form: "From=WhatsApp%3A%2B212600000001",
			want: bot.Inbound{From: "whatsapp:+212600000001", Channel: bot.WhatsApp}},
		{name: "sms", form: "From=%2B212600000001&SmsSid=SM2",
			want: bot.Inbound{ID: "SM2", From: "sms:+212600000001", Channel: bot.SMS}},
		{name: "SmsMessageSid", form: "From=%2B212600000001&SmsMessageSid=SM3&SmsSid=SM4",
			want: bot.Inbound{ID: "SM3", From: "sms:+212600000001", Channel: bot.SMS}},
		{name: "media beyond NumMedia still read", form: "From=%2B212600000001&NumMedia=1&MediaUrl0=u0&MediaContentType0=image%2Fpng&MediaUrl1=u1",
			want: bot.Inbound{From: "sms:+212600000001", Channel: bot.SMS,
				Media: []bot.Media{{URL: "u0", ContentType: "image/png"}, {URL: "u1"}}}},
		{name: "NumMedia garbage", form: "From=%2B212600000001&NumMedia=-7",
			want: bot.Inbound{From: "sms:+212600000001", Channel: bot.SMS}},
		{name: "repeated From: first wins", form: "From=%2B212600000001&From=%2B212600000002",
			want: bot.Inbound{From: "sms:+212600000001", Channel: bot.SMS}},
		{name: "whatsapp BSUID", form: "From=whatsapp%3AMA.1502576394655843&MessageSid=SM5&Body=salam",
			want: bot.Inbound{ID: "SM5", From: "whatsapp:MA.1502576394655843", Channel: bot.WhatsApp, Text: "salam"}},
		{name: "whatsapp parent BSUID", form: "From=whatsapp%3AUS.ENT.11815799212886844830",
			want: bot.Inbound{From: "whatsapp:US.ENT.11815799212886844830", Channel: bot.WhatsApp}},
		{name: "number with ExternalUserId", form: "From=whatsapp%3A%2B212600000001&ExternalUserId=MA.1502576394655843",
			want: bot.Inbound{From: "whatsapp:+212600000001", Channel: bot.WhatsApp, BSUID: "whatsapp:MA.1502576394655843"}},
		{name: "number with ExternalUserId and channel", form: "From=whatsapp%3A%2B212600000001&ExternalUserId=whatsapp%3AMA.1502576394655843",
			want: bot.Inbound{From: "whatsapp:+212600000001", Channel: bot.WhatsApp, BSUID: "whatsapp:MA.1502576394655843"}},
		{name: "BSUID with ExternalUserId: From is the learner", form: "From=whatsapp%3AMA.1502576394655843&ExternalUserId=MA.99",
			want: bot.Inbound{From: "whatsapp:MA.1502576394655843", Channel: bot.WhatsApp}},
		{name: "sms with ExternalUserId: not read", form: "From=%2B212600000001&ExternalUserId=garbage",
			want: bot.Inbound{From: "sms:+212600000001", Channel: bot.SMS}},
		{name: "ExternalUserId malformed", form: "From=whatsapp%3A%2B212600000001&ExternalUserId=MA-1502576394655843", wantErr: true},
		{name: "ExternalUserId a number", form: "From=whatsapp%3A%2B212600000001&ExternalUserId=%2B212600000001", wantErr: true},
		{name: "BSUID by SMS", form: "From=MA.1502576394655843", wantErr: true},
		{name: "BSUID lower-case country", form: "From=whatsapp%3Ama.1502576394655843", wantErr: true},
		{name: "BSUID empty part", form: "From=whatsapp%3AMA..1502576394655843", wantErr: true},
		{name: "BSUID too long", form: "From=whatsapp%3AMA." + strings.Repeat("7", 129), wantErr: true},
		{name: "BSUID with a space", form: "From=whatsapp%3AMA.150257+6394655843", wantErr: true},
		{name: "quick reply tapped", form: "From=whatsapp%3A%2B212600000001&Body=Oui&ButtonText=Oui&ButtonPayload=darsi%3Amenu%231",
			want: bot.Inbound{From: "whatsapp:+212600000001", Channel: bot.WhatsApp, Text: "Oui", Payload: "darsi:menu#1"}},
		{name: "list row picked", form: "From=whatsapp%3A%2B212600000001&Body=Tr%C3%A9sorerie&ListTitle=Tr%C3%A9sorerie&ListId=darsi%3Amenu%232",
			want: bot.Inbound{From: "whatsapp:+212600000001", Channel: bot.WhatsApp, Text: "Trésorerie", Payload: "darsi:menu#2"}},
		{name: "no From", form: "Body=hi", wantErr: true},
		{name: "whatsapp without number", form: "From=whatsapp%3A", wantErr: true},
		{name: "short code", form: "From=12345", wantErr: true},
		{name: "leading zero", form: "From=%2B0212600000001", wantErr: true},
		{name: "too long", form: "From=%2B1234567890123456", wantErr: true},
		{name: "spaces", form: "From=%2B212+600000001", wantErr: true},
		{name: "messenger", form: "From=messenger%3A12345678", wantErr: true},
		{name: "rcs", form: "From=rcs%3A%2B212600000001", wantErr: true},
		{name: "huge MessageSid", form: "From=%2B212600000001&MessageSid=" + strings.Repeat("S", 101), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := twilio.ParseInbound(mustQuery(t, tc.form))
			if tc.wantErr {
				if err == nil || bot.KindOf(err) != bot.Invalid {
					t.Errorf("got %+v, %v; want an error of kind invalid", got, err)
				}
				if err != nil && (strings.Contains(err.Error(), "600000001") || strings.Contains(err.Error(), "2576394655843")) {
					t.Errorf("error shows the phone number: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInboundTenMedia(t *testing.T) {
	form := url.Values{"From": {"whatsapp:+212600000001"}, "NumMedia": {"12"}}
	for i := range 12 {
		form.Set(fmt.Sprint("MediaUrl", i), fmt.Sprint("https://api.twilio.com/m/", i))
	}
	in, err := twilio.ParseInbound(form)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Media) != 10 {
		t.Errorf("got %d media, want Twilio's maximum of 10", len(in.Media))
	}
}
