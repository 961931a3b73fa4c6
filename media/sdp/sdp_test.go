package sdp

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handset-dev/handset/internal/testutil"
)

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseLyncOffer(t *testing.T) {
	s, err := Parse(mustRead(t, "testdata/lync-offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Media[0]
	if m.Proto != "RTP/SAVP" || m.Encryption != EncryptionRequired || m.RTCPPort != 50021 {
		t.Errorf("media = %s %s rtcp %d", m.Proto, m.Encryption, m.RTCPPort)
	}
	if len(m.Crypto) != 2 || m.Crypto[0].MKILen != 1 || m.Crypto[0].MKI != 1 || m.Crypto[1].HasMKI() {
		t.Fatalf("crypto = %v", m.Crypto)
	}
	if m.Crypto[0].Lifetime != 1<<31 {
		t.Errorf("lifetime %d", m.Crypto[0].Lifetime)
	}
	if c, _ := m.Codec(112); !c.Same(G722124) {
		t.Errorf("pt 112 = %+v", c)
	}
	if c, _ := m.Codec(0); c.Name != "PCMU" {
		t.Errorf("pt 0 = %+v", c)
	}
	again, err := Parse(s.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s, again); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// Marshal keeps SIPE's order: candidates, crypto, codecs, rtcp, encryption, ice.
	out := string(s.Marshal())
	order := []string{"a=candidate:1 1", "a=crypto:2", "a=rtpmap:114", "a=rtcp:", "a=encryption:", "a=maxptime", "a=ice-ufrag"}
	last := -1
	for _, o := range order {
		i := strings.Index(out, o)
		if i <= last {
			t.Errorf("%q out of order in\n%s", o, out)
		}
		last = i
	}
}

func TestParseCryptoGood(t *testing.T) {
	key := "WnD7c1ksDGs+dIefCEjbKOTi6uoyvJD3f+MG1AAH"
	for _, tc := range []struct {
		in   string
		want string // String()
		mki  []byte
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:1", "1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]|2^31|1:1", []byte{1}},
		{"3 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31", "3 AES_CM_128_HMAC_SHA1_80 inline:[redacted]|2^31", nil},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key, "1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]", nil},
		{"7 AES_CM_128_HMAC_SHA1_32 inline:" + key + "|1048576|258:4", "7 AES_CM_128_HMAC_SHA1_32 inline:[redacted]|2^20|258:4", []byte{0, 0, 1, 2}},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|5:2 UNENCRYPTED_SRTCP", "1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]|5:2 UNENCRYPTED_SRTCP", []byte{0, 5}},
	} {
		c, err := ParseCrypto(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if c.String() != tc.want {
			t.Errorf("String = %q, want %q", c.String(), tc.want)
		}
		if !bytes.Equal(c.MKIBytes(), tc.mki) {
			t.Errorf("MKIBytes = %x, want %x", c.MKIBytes(), tc.mki)
		}
		if strings.Contains(c.String(), key) || strings.Contains(c.GoString(), key) {
			t.Error("key not redacted")
		}
		back, err := ParseCrypto(c.Value())
		if err != nil || !cmp.Equal(back, c) {
			t.Errorf("round trip %q: %v %v", c.Value(), back, err)
		}
	}
}

// RELIABILITY.md P6: each bad crypto line is a *CryptoError naming the field.
func TestParseCryptoBad(t *testing.T) {
	key := "WnD7c1ksDGs+dIefCEjbKOTi6uoyvJD3f+MG1AAH"
	for _, tc := range []struct {
		in    string
		field string
		err   error
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:!!!notbase64!!!", "key", ErrKeyEncoding},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:QUJD", "key", ErrKeyLength},
		{"1 F8_128_HMAC_SHA1_80 inline:" + key, "suite", ErrUnknownSuite},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:0", "mki", ErrMKILength},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:5", "mki", ErrMKILength},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|256:1", "mki", ErrMKIValue},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|1000", "lifetime", ErrLifetime},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|3000", "lifetime", ErrLifetime},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^9", "lifetime", ErrLifetime},
		{"1 AES_CM_128_HMAC_SHA1_80  inline:" + key, "key", ErrCryptoSyntax},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + key, "tag", ErrCryptoSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:" + key, "key", ErrCryptoSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80", "syntax", ErrCryptoSyntax},
	} {
		_, err := ParseCrypto(tc.in)
		var ce *CryptoError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, tc.err) {
			t.Errorf("%q: err = %v, want field %s %v", tc.in, err, tc.field, tc.err)
			continue
		}
		if strings.Contains(err.Error(), key) {
			t.Errorf("error leaks the key: %v", err)
		}
	}
}

// RELIABILITY.md P5: each bad SDP is a *ParseError with a clear sentinel.
func TestParseBad(t *testing.T) {
	head := "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"
	key := "WnD7c1ksDGs+dIefCEjbKOTi6uoyvJD3f+MG1AAH"
	for name, tc := range map[string]struct {
		body string
		err  error
	}{
		"no c=":          {"v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n", ErrMissingConnection},
		"port 65536":     {head + "m=audio 65536 RTP/AVP 0\r\n", ErrBadPort},
		"unknown proto":  {head + "m=audio 5000 RTP/XYZ 0\r\n", ErrUnknownProto},
		"100 m-lines":    {head + strings.Repeat("m=audio 5000 RTP/AVP 0\r\n", 100), ErrTooManyMedia},
		"pt 128":         {head + "m=audio 5000 RTP/AVP 128\r\n", ErrBadPayloadType},
		"no ice-pwd":     {head + "m=audio 5000 RTP/AVP 0\r\na=candidate:1 1 UDP 2130706431 1.2.3.4 5000 typ host\r\na=ice-ufrag:x\r\n", ErrMissingICECredentials},
		"bad candidate":  {head + "m=audio 5000 RTP/AVP 0\r\na=candidate:1 1 UDP\r\n", ErrBadCandidate},
		"dup crypto tag": {head + "m=audio 5000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:1\r\n", ErrDuplicateCryptoTag},
		"bad crypto":     {head + "m=audio 5000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD\r\n", ErrKeyLength},
		"no v=":          {"o=- 0 0 IN IP4 1.2.3.4\r\n", ErrSyntax},
		"garbage":        {"\x00\x01", ErrSyntax},
		"empty":          {"", ErrSyntax},
		"bad encryption": {head + "m=audio 5000 RTP/AVP 0\r\na=encryption:maybe\r\n", ErrSyntax},
		"rtcp port 0":    {head + "m=audio 5000 RTP/AVP 0\r\na=rtcp:0\r\n", ErrBadPort},
	} {
		_, err := Parse([]byte(tc.body))
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want *ParseError %v", name, err, tc.err)
		}
	}
}

func testOfferConfig(pol Policy) OfferConfig {
	return OfferConfig{
		Address: "192.0.2.10", Port: 20000, RTCPPort: 20001, SessionID: 7, Version: 1,
		Bandwidth: "CT:99980", Codecs: []Codec{G722, PCMU, PCMA, G722124, G729}, DTMF: 101,
		Policy: pol, Rand: testutil.NewReader(1), SSRCRange: [2]uint32{100, 199},
	}
}

func TestOfferShapes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pol    Policy
		proto  string
		enc    Encryption
		crypto []string
	}{
		{"required", PolicyFromConfig(true, false, true), "RTP/SAVP", EncryptionRequired, []string{"|2^31|1:1", "|2^31"}},
		{"optional", PolicyFromConfig(true, true, false), "RTP/AVP", EncryptionOptional, []string{"|2^31|1:1", "|2^31"}},
		{"plain", PolicyFromConfig(true, false, false), "RTP/AVP", "", nil},
		{"disabled", PolicyFromConfig(false, false, false), "RTP/AVP", EncryptionRejected, nil},
	} {
		s, err := Offer(testOfferConfig(tc.pol))
		if err != nil {
			t.Fatal(err)
		}
		m := s.Media[0]
		if m.Proto != tc.proto || m.Encryption != tc.enc || len(m.Crypto) != len(tc.crypto) {
			t.Errorf("%s: %s %q %v", tc.name, m.Proto, m.Encryption, m.Crypto)
		}
		for i, suffix := range tc.crypto {
			if !strings.HasSuffix(m.Crypto[i].Value(), suffix) {
				t.Errorf("%s: crypto %d = %s", tc.name, i, m.Crypto[i])
			}
		}
		body := s.Marshal()
		for _, want := range []string{"m=audio 20000 " + tc.proto + " 9 0 8 112 18 101\r\n", "a=rtpmap:112 G7221/16000\r\na=fmtp:112 bitrate=24000\r\n", "a=rtcp:20001\r\n", "a=x-ssrc-range:100-199\r\n", "b=CT:99980\r\n"} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("%s: body lacks %q:\n%s", tc.name, want, body)
			}
		}
		back, err := Parse(body)
		if err != nil {
			t.Fatalf("%s: reparse: %v", tc.name, err)
		}
		if d := cmp.Diff(s, back); d != "" {
			t.Errorf("%s: reparse diff:\n%s", tc.name, d)
		}
	}
	cfg := testOfferConfig(PolicyFromConfig(true, true, false))
	cfg.Direction = Inactive
	cfg.SRTP = SRTPConfig{NoMKI: true, Lifetime: 1 << 20}
	s, err := Offer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Media[0]; m.Direction != Inactive || len(m.Crypto) != 1 || m.Crypto[0].HasMKI() || m.Crypto[0].Lifetime != 1<<20 {
		t.Errorf("hold/no-mki offer: %v %v", m.Direction, m.Crypto)
	}
}

func answerConfig(pol Policy) AnswerConfig {
	return AnswerConfig{Address: "192.0.2.20", Port: 30000, RTCPPort: 30001, Codecs: []Codec{PCMU, PCMA, G722},
		DTMF: true, Policy: pol, Rand: testutil.NewReader(2)}
}

func TestAnswerLyncOffer(t *testing.T) {
	offer, err := Parse(mustRead(t, "testdata/lync-offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Answer(offer, answerConfig(PolicyFromConfig(true, false, false)))
	if err != nil {
		t.Fatal(err)
	}
	m := ans.Media[0]
	if m.Proto != "RTP/SAVP" || len(m.Crypto) != 1 || m.Crypto[0].Tag != 2 || m.Crypto[0].MKI != 1 || m.Crypto[0].MKILen != 1 {
		t.Fatalf("answer %s %v", m.Proto, m.Crypto)
	}
	if got := strings.Join(m.Formats, " "); got != "0 8 9 101" {
		t.Errorf("formats %q", got)
	}
	res, err := Negotiate(offer, ans, Answerer, NegotiateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Encrypted || res.Remote.Tag != 2 || res.Local.Tag != 2 || res.Codec.Name != "PCMU" || res.DTMF != 101 ||
		res.RemoteAddress != "10.0.0.5" || res.RemotePort != 50020 || res.RemoteRTCPPort != 50021 {
		t.Errorf("result %+v", res)
	}
	if !bytes.Equal(res.Remote.Key, offer.Media[0].Crypto[0].Key) {
		t.Error("remote key is not the offered key of tag 2")
	}
	// sec.srtp.mki.enabled=0 picks the line without MKI.
	cfg := answerConfig(PolicyFromConfig(true, false, false))
	cfg.SRTP.NoMKI = true
	ans, err = Answer(offer, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := ans.Media[0].Crypto[0]; c.Tag != 3 || c.HasMKI() {
		t.Errorf("no-mki answer %v", c)
	}
}

func TestEncryptionMismatch488(t *testing.T) {
	lync, err := Parse(mustRead(t, "testdata/lync-offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Offer(testOfferConfig(PolicyFromConfig(true, false, false)))
	if err != nil {
		t.Fatal(err)
	}
	optional, err := Offer(testOfferConfig(PolicyFromConfig(true, true, false)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		offer *Session
		pol   Policy
		ok    bool
		enc   bool
	}{
		{"required offer, srtp disabled", lync, PolicyFromConfig(false, false, false), false, false},
		{"plain offer, srtp required", plain, PolicyFromConfig(true, true, true), false, false},
		{"optional offer, srtp disabled", optional, PolicyFromConfig(false, false, false), true, false},
		{"optional offer, srtp enabled", optional, PolicyFromConfig(true, false, false), true, true},
		{"plain offer, enabled", plain, PolicyFromConfig(true, false, false), true, false},
	} {
		ans, aerr := Answer(tc.offer, answerConfig(tc.pol))
		if !tc.ok {
			ne, ok := IsNegotiationError(aerr)
			if !ok || ne.Status != 488 || ne.Warning != `308 lcs.microsoft.com "Encryption Levels not compatible"` || !errors.Is(aerr, ErrEncryptionIncompatible) {
				t.Errorf("%s: err = %v", tc.name, aerr)
			}
			continue
		}
		if aerr != nil {
			t.Errorf("%s: %v", tc.name, aerr)
			continue
		}
		if got := len(ans.Media[0].Crypto) == 1; got != tc.enc {
			t.Errorf("%s: crypto in answer = %v", tc.name, got)
		}
		if _, nerr := Negotiate(tc.offer, ans, Offerer, NegotiateConfig{}); nerr != nil {
			t.Errorf("%s: negotiate: %v", tc.name, nerr)
		}
	}
	// No common codec.
	cfg := answerConfig(PolicyFromConfig(true, false, false))
	cfg.Codecs = []Codec{G722132}
	_, err = Answer(plain, cfg)
	if ne, ok := IsNegotiationError(err); !ok || ne.Status != 488 || !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("no common codec: %v", err)
	}
}

// baresip answers our MKI line without the MKI (peers.md): accepted, and
// both directions then run without MKI, unless RequireMKI.
func TestNegotiateBaresipAnswerWithoutMKI(t *testing.T) {
	offer, err := Offer(testOfferConfig(PolicyFromConfig(true, true, true)))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Parse(mustRead(t, "testdata/baresip-answer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Negotiate(offer, ans, Offerer, NegotiateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Encrypted || res.Local.HasMKI() || res.Remote.HasMKI() || res.Local.Tag != 1 || res.Codec.Name != "PCMU" || res.DTMF != 101 {
		t.Errorf("result %+v", res)
	}
	if !bytes.Equal(res.Local.Key, offer.Media[0].Crypto[0].Key) {
		t.Error("local key is not our offered key")
	}
	if _, err := Negotiate(offer, ans, Offerer, NegotiateConfig{RequireMKI: true}); !errors.Is(err, ErrMKIRequired) {
		t.Errorf("RequireMKI: %v", err)
	}
	ans.Media[0].Crypto[0].Tag = 9
	if _, err := Negotiate(offer, ans, Offerer, NegotiateConfig{}); !errors.Is(err, ErrCryptoMismatch) {
		t.Errorf("unknown tag: %v", err)
	}
}

// RELIABILITY.md P6: "|1:4" against sec.srtp.mki.length=1.
func TestMKILengthMismatch(t *testing.T) {
	key := "WnD7c1ksDGs+dIefCEjbKOTi6uoyvJD3f+MG1AAH"
	body := "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31|1:4\r\n"
	offer, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Answer(offer, answerConfig(PolicyFromConfig(true, false, false)))
	if ne, ok := IsNegotiationError(err); !ok || ne.Status != 488 {
		t.Errorf("answer to a 4-byte-only MKI offer: %v", err)
	}
	cfg := answerConfig(PolicyFromConfig(true, false, false))
	cfg.SRTP.MKILength = 4
	ans, err := Answer(offer, cfg)
	if err != nil || ans.Media[0].Crypto[0].MKILen != 4 {
		t.Fatalf("4-byte config: %v", err)
	}
	var ce *CryptoError
	if _, err := Negotiate(offer, ans, Answerer, NegotiateConfig{MKILength: 1}); !errors.As(err, &ce) || !errors.Is(err, ErrMKILengthMismatch) {
		t.Errorf("negotiate mismatch: %v", err)
	}
	if _, err := Negotiate(offer, ans, Answerer, NegotiateConfig{MKILength: 4}); err != nil {
		t.Errorf("negotiate match: %v", err)
	}
}

func TestHoldDirections(t *testing.T) {
	for _, tc := range []struct{ offered, local, want Direction }{
		{"", "", ""},
		{SendOnly, "", RecvOnly},
		{Inactive, "", Inactive},
		{RecvOnly, "", SendOnly},
		{"", SendOnly, SendOnly},
		{"", Inactive, Inactive},
		{SendOnly, SendOnly, Inactive},
	} {
		if got := answerDirection(tc.offered, tc.local); got != tc.want {
			t.Errorf("answerDirection(%q, %q) = %q, want %q", tc.offered, tc.local, got, tc.want)
		}
	}
}

func TestCodecsFromPrefs(t *testing.T) {
	got, err := CodecsFromPrefs(DefaultCodecPrefs(), 112)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
	}
	if d := cmp.Diff([]string{"G722", "G7221", "PCMU", "PCMA", "G729"}, names); d != "" {
		t.Error(d)
	}
	if _, err := CodecsFromPrefs([]CodecPref{{"Opus", 1}}, 0); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown codec: %v", err)
	}
}

// The handset's SRTP-required offer and its answer to Lync's offer, byte
// for byte (seeded keys); regenerate with go test -update.
func TestGoldenOfferAnswer(t *testing.T) {
	cfg := testOfferConfig(PolicyFromConfig(true, true, true))
	cfg.Attributes = []Attribute{{"ice-ufrag", "abcd"}, {"ice-pwd", "0123456789abcdef01234567"},
		{"candidate", "1 1 UDP 2130706431 192.0.2.10 20000 typ host"}, {"candidate", "1 2 UDP 2130705918 192.0.2.10 20001 typ host"}}
	offer, err := Offer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/handset-offer.golden.sdp", offer.Marshal())
	lync, err := Parse(mustRead(t, "testdata/lync-offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Answer(lync, answerConfig(PolicyFromConfig(true, false, false)))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/handset-answer-to-lync.golden.sdp", ans.Marshal())
}
