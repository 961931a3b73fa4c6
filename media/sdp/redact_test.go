package sdp

import (
	"errors"
	"strings"
	"testing"
)

// A ParseError quotes its line; key material in it must not reach logs.
func TestParseErrorRedactsKeys(t *testing.T) {
	const key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	for _, line := range []string{
		"a=crypto:1 F8_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:1",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^9",
	} {
		body := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n" + line + "\r\n"
		_, err := Parse([]byte(body))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v", line, err)
		}
		if strings.Contains(err.Error(), key[:20]) || !strings.Contains(pe.Text, "[redacted]") {
			t.Errorf("key shown: %v", err)
		}
	}
	if got := redactLine("k=base64:" + key); got != "k=[redacted]" {
		t.Errorf("redactLine: %q", got)
	}
	if got := redactLine("a=crypto:1 S inline:AAA|2^31 inline:BBB;x"); got != "a=crypto:1 S inline:[redacted]|2^31 inline:[redacted];x" {
		t.Errorf("redactLine: %q", got)
	}
}
