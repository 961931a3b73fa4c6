package ntlm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handset-dev/handset/internal/testutil"
)

var labNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func labAcceptor(seed uint64) AcceptorConfig {
	return AcceptorConfig{
		NbDomain: "CONTOSO", NbComputer: "POOL", DNSDomain: "contoso.test", DNSComputer: "pool.contoso.test",
		Rand: testutil.NewReader(seed), Now: func() time.Time { return labNow }, MaxSkew: 15 * time.Minute,
	}
}

func aliceClient(seed uint64, password string) ClientConfig {
	return ClientConfig{
		Credentials: Credentials{Domain: "CONTOSO", User: "alice", Workstation: "HANDSET", Password: password},
		Rand:        testutil.NewReader(seed),
		Now:         func() time.Time { return labNow },
	}
}

func lookupAlice(domain, user string) (string, bool) {
	if strings.EqualFold(domain, "CONTOSO") && strings.EqualFold(user, "alice") {
		return "secret", true
	}
	return "", false
}

func TestConnectionlessRoundTrip(t *testing.T) {
	sc, chal, err := NewChallenge(labAcceptor(1), true)
	if err != nil {
		t.Fatal(err)
	}
	auth, cs, err := Authenticate(aliceClient(2, "secret"), chal)
	if err != nil {
		t.Fatal(err)
	}
	ss, id, err := sc.Accept(auth, lookupAlice)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Identity{Domain: "CONTOSO", User: "alice", Workstation: "HANDSET"}, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if !bytes.Equal(cs.ExportedSessionKey(), ss.ExportedSessionKey()) {
		t.Fatal("session keys differ")
	}
	if !cs.Datagram() || !ss.Datagram() {
		t.Fatal("not datagram sessions")
	}
	m, _ := ParseAuthenticate(auth)
	if m.MIC != nil {
		t.Error("connectionless AUTHENTICATE carries a MIC")
	}
	msg := []byte("<NTLM><13317733><1><SIP Communications Service><pool.contoso.test>")
	if err := ss.VerifyMAC(msg, cs.MAC(msg, 100), 100); err != nil {
		t.Errorf("server verify of client MAC: %v", err)
	}
	if err := cs.VerifyMAC(msg, ss.MAC(msg, 100), 100); err != nil {
		t.Errorf("client verify of server MAC: %v", err)
	}
	// Direction matters: a client MAC does not verify as a server MAC.
	if err := cs.VerifyMAC(msg, cs.MAC(msg, 100), 100); !errors.Is(err, ErrBadSignature) {
		t.Errorf("client verified its own MAC: %v", err)
	}
	sig := cs.MAC(msg, 100)
	sig[5] ^= 1
	if err := ss.VerifyMAC(msg, sig, 100); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered signature: %v", err)
	}
	if err := ss.VerifyMAC(msg, sig[:15], 100); !errors.Is(err, ErrBadSignature) {
		t.Errorf("short signature: %v", err)
	}
}

// TestSIPEFlags: the OCS CHALLENGE 0xE29882F3 gives SIPE's AUTHENTICATE
// flags 0x62988255 (protocols.md §4.2).
func TestSIPEFlags(t *testing.T) {
	ch := ChallengeMessage{
		Flags:      0xE29882F3,
		TargetInfo: MarshalAVPairs([]AVPair{{AvNbDomainName, utf16le("COSMO")}}),
	}
	auth, _, err := Authenticate(aliceClient(3, "secret"), ch.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseAuthenticate(auth)
	if err != nil {
		t.Fatal(err)
	}
	if m.Flags != 0x62988255 {
		t.Errorf("flags = %#08x (%v), want 0x62988255", uint32(m.Flags), m.Flags)
	}
	if m.Version == nil || *m.Version != defaultVersion {
		t.Errorf("version = %+v", m.Version)
	}
	if len(m.LmChallengeResponse) != 24 || bytes.Equal(m.LmChallengeResponse, make([]byte, 24)) {
		t.Errorf("LMv2 = %x, want SIPE's 24-byte LMv2", m.LmChallengeResponse)
	}
}

func TestChallengeRefused(t *testing.T) {
	ti := MarshalAVPairs(nil)
	for _, tc := range []struct {
		name  string
		flags Flags
		want  Flags
	}{
		{"NTLMv1 without ESS", 0xE29882F3 &^ FlagExtendedSessionSecurity, FlagExtendedSessionSecurity},
		{"no DATAGRAM", 0xE29882F3 &^ FlagDatagram, FlagDatagram},
		{"no KEY_EXCH", 0xE29882F3 &^ FlagKeyExch, FlagKeyExch},
		{"no SIGN", 0xE29882F3 &^ FlagSign, FlagSign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := ChallengeMessage{Flags: tc.flags, TargetInfo: ti}
			_, _, err := Authenticate(aliceClient(4, "secret"), ch.Marshal())
			var fe *FlagError
			if !errors.As(err, &fe) || !errors.Is(err, ErrUnsupported) || fe.Missing != tc.want {
				t.Fatalf("err = %v", err)
			}
		})
	}
	_, _, err := AuthenticateConnection(aliceClient(4, "secret"), (&ChallengeMessage{Flags: FlagUnicode | FlagNTLM}).Marshal())
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "extended session security") {
		t.Fatalf("connection-oriented NTLMv1 challenge: %v", err)
	}
}

func TestAcceptNegative(t *testing.T) {
	newPair := func(t *testing.T) (*ServerChallenge, []byte) {
		t.Helper()
		sc, chal, err := NewChallenge(labAcceptor(10), true)
		if err != nil {
			t.Fatal(err)
		}
		return sc, chal
	}
	t.Run("wrong password", func(t *testing.T) {
		sc, chal := newPair(t)
		auth, _, _ := Authenticate(aliceClient(11, "WRONG"), chal)
		if _, _, err := sc.Accept(auth, lookupAlice); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		sc, chal := newPair(t)
		cfg := aliceClient(11, "secret")
		cfg.Credentials.User = "mallory"
		auth, _, _ := Authenticate(cfg, chal)
		if _, _, err := sc.Accept(auth, lookupAlice); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("replayed AUTHENTICATE", func(t *testing.T) {
		sc, chal := newPair(t)
		auth, _, _ := Authenticate(aliceClient(11, "secret"), chal)
		if _, _, err := sc.Accept(auth, lookupAlice); err != nil {
			t.Fatal(err)
		}
		if _, _, err := sc.Accept(auth, lookupAlice); !errors.Is(err, ErrChallengeUsed) {
			t.Fatalf("replay: %v", err)
		}
		// Against a fresh challenge the old AUTHENTICATE proves nothing.
		sc2, _, _ := NewChallenge(labAcceptor(99), true)
		if _, _, err := sc2.Accept(auth, lookupAlice); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("replay on new challenge: %v", err)
		}
	})
	t.Run("tampered NT response", func(t *testing.T) {
		sc, chal := newPair(t)
		auth, _, _ := Authenticate(aliceClient(11, "secret"), chal)
		m, _ := ParseAuthenticate(auth)
		m.NtChallengeResponse[20] ^= 0x40
		if _, _, err := sc.Accept(m.Marshal(), lookupAlice); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NTLMv1 response", func(t *testing.T) {
		sc, chal := newPair(t)
		auth, _, _ := Authenticate(aliceClient(11, "secret"), chal)
		m, _ := ParseAuthenticate(auth)
		m.NtChallengeResponse = m.NtChallengeResponse[:24]
		if _, _, err := sc.Accept(m.Marshal(), lookupAlice); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stale timestamp", func(t *testing.T) {
		cfg := labAcceptor(12)
		sc, chal, _ := NewChallenge(cfg, true)
		// The client echoes the CHALLENGE timestamp; accept an hour later.
		auth, _, _ := Authenticate(aliceClient(11, "secret"), chal)
		sc.cfg.Now = func() time.Time { return labNow.Add(time.Hour) }
		if _, _, err := sc.Accept(auth, lookupAlice); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		sc, _ := newPair(t)
		if _, _, err := sc.Accept([]byte("NTLMSSP\x00\x03\x00\x00\x00"), lookupAlice); !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no DATAGRAM in answer", func(t *testing.T) {
		sc, chal := newPair(t)
		auth, _, _ := Authenticate(aliceClient(11, "secret"), chal)
		binary.LittleEndian.PutUint32(auth[60:], binary.LittleEndian.Uint32(auth[60:])&^uint32(FlagDatagram))
		if _, _, err := sc.Accept(auth, lookupAlice); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConnectionOrientedMIC(t *testing.T) {
	cfg := aliceClient(20, "secret")
	neg := Negotiate(cfg)
	if !bytes.Equal(neg, Negotiate(cfg)) {
		t.Fatal("Negotiate is not deterministic")
	}
	sc, chal, err := NewConnectionChallenge(labAcceptor(21), neg)
	if err != nil {
		t.Fatal(err)
	}
	auth, cs, err := AuthenticateConnection(cfg, chal)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := ParseAuthenticate(auth)
	if len(m.MIC) != 16 || !bytes.Equal(m.LmChallengeResponse, make([]byte, 24)) {
		t.Fatalf("MIC = %x, LM = %x: want MIC and Z(24)", m.MIC, m.LmChallengeResponse)
	}
	ss, _, err := sc.Accept(auth, lookupAlice)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Datagram() {
		t.Fatal("connection-oriented session in datagram mode")
	}
	// Streams continue across messages in both directions.
	for i := range uint32(3) {
		msg := fmt.Appendf(nil, "message %d", i)
		sealed, sig := cs.Seal(msg, i)
		got, err := ss.Unseal(sealed, sig, i)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d: %q, %v", i, got, err)
		}
		if err := cs.VerifyMAC(msg, ss.MAC(msg, i), i); err != nil {
			t.Fatalf("server MAC %d: %v", i, err)
		}
	}

	// A MIC over a different NEGOTIATE fails.
	sc2, chal2, _ := NewConnectionChallenge(labAcceptor(22), neg)
	auth2, _, _ := AuthenticateConnection(cfg, chal2)
	auth2[micOffset] ^= 1
	if _, _, err := sc2.Accept(auth2, lookupAlice); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("bad MIC: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	valid := (&ChallengeMessage{Flags: serverDatagramFlags, TargetInfo: MarshalAVPairs(nil), Version: &defaultVersion}).Marshal()
	badOffset := bytes.Clone(valid)
	binary.LittleEndian.PutUint32(badOffset[44:], 0xffff)
	badTI := (&ChallengeMessage{Flags: serverDatagramFlags, TargetInfo: []byte{2, 0, 9, 0, 1}}).Marshal()
	for name, b := range map[string][]byte{
		"empty":            nil,
		"short":            []byte("NTLMSSP\x00"),
		"not ntlmssp":      append([]byte("NTLMXXX\x00\x02\x00\x00\x00"), make([]byte, 40)...),
		"wrong type":       append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 40)...),
		"payload outside":  badOffset,
		"bad AV pair list": badTI,
		"too long":         append(bytes.Clone(valid), make([]byte, maxMessage)...),
	} {
		_, err := ParseChallenge(b)
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "ntlm: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestRedaction(t *testing.T) {
	c := Credentials{Domain: "CONTOSO", User: "alice", Password: "hunter2"}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "cred", c)
	sc, chal, _ := NewChallenge(labAcceptor(30), true)
	_, s, _ := Authenticate(ClientConfig{Credentials: c, Rand: testutil.NewReader(31)}, chal)
	_ = sc
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "session", s)
	key := fmt.Sprintf("%x", s.ExportedSessionKey())
	for _, out := range []string{
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c), fmt.Sprintf("%v", &c),
		fmt.Sprint(s), fmt.Sprintf("%+v", s), logBuf.String(),
	} {
		if strings.Contains(out, "hunter2") || strings.Contains(strings.ToLower(out), key) {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("no [redacted] marker: %s", out)
		}
	}
}

func TestSplitUser(t *testing.T) {
	for in, want := range map[string][2]string{
		`CONTOSO\alice`:     {"CONTOSO", "alice"},
		"alice@contoso.com": {"", "alice@contoso.com"},
		"alice":             {"", "alice"},
	} {
		d, u := SplitUser(in)
		if d != want[0] || u != want[1] {
			t.Errorf("SplitUser(%q) = %q, %q", in, d, u)
		}
	}
}

func TestFlagsString(t *testing.T) {
	if got := Flags(0x62988255).String(); got != "UNICODE|REQUEST_TARGET|SIGN|DATAGRAM|NTLM|ALWAYS_SIGN|EXTENDED_SESSIONSECURITY|IDENTIFY|TARGET_INFO|VERSION|128|KEY_EXCH" {
		t.Errorf("String = %s", got)
	}
	if got := Flags(0x100).String(); got != "0x00000100" {
		t.Errorf("unknown bit = %s", got)
	}
}

func TestFiletime(t *testing.T) {
	for _, tm := range []time.Time{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), labNow, time.Unix(0, 0)} {
		if got := timeFromFiletime(filetime(tm)); !got.Equal(tm) {
			t.Errorf("round trip %v = %v", tm, got)
		}
	}
	if filetime(time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("1601 is not FILETIME 0")
	}
}

// TestPeerMessages parses messages captured from the real peers (the fuzz
// seed corpus) and checks the fields the client depends on.
func TestPeerMessages(t *testing.T) {
	for _, name := range []string{"gss-ntlmssp-datagram", "samba-ntlm_auth"} {
		b := readCorpus(t, "testdata/fuzz/FuzzParseChallenge/"+name)
		ch, err := ParseChallenge(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pairs, err := ParseAVPairs(ch.TargetInfo)
		if err != nil || !hasAV(pairs, AvTimestamp) || !ch.Flags.Has(FlagExtendedSessionSecurity) {
			t.Errorf("%s: flags %v, pairs %v, err %v", name, ch.Flags, pairs, err)
		}
	}
	if _, err := ParseAuthenticate(readCorpus(t, "testdata/fuzz/FuzzParseAuthenticate/impacket-datagram")); err != nil {
		t.Error(err)
	}
	if _, err := ParseNegotiate(readCorpus(t, "testdata/fuzz/FuzzParseNegotiate/impacket")); err != nil {
		t.Error(err)
	}
}

// readCorpus decodes a one-value "go test fuzz v1" file of \xNN bytes.
func readCorpus(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, lit, _ := strings.Cut(string(raw), "[]byte(")
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimSpace(lit), ")"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}
