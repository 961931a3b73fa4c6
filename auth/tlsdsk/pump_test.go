package tlsdsk

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/handset-dev/handset/certrenew"
	"github.com/handset-dev/handset/internal/testutil"
)

// testNow lies inside the validity of testdata's PKI (gen.sh: 20 years).
func testNow() time.Time {
	b, err := os.ReadFile("testdata/ca.crt")
	if err != nil {
		return time.Time{}
	}
	c, err := tls.X509KeyPair(b, mustRead("testdata/ca.key"))
	if err != nil {
		return time.Time{}
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return time.Time{}
	}
	return leaf.NotBefore.Add(24 * time.Hour)
}

func mustRead(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

func loadPair(t testing.TB, name string) *tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair("testdata/"+name+".crt", "testdata/"+name+".key")
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func pool(t testing.TB, name string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(mustRead("testdata/" + name + ".crt")) {
		t.Fatalf("no certificate in %s", name)
	}
	return p
}

func newPumps(t testing.TB, user string, ccfg func(*ClientConfig)) (*Client, *Server) {
	t.Helper()
	var store certrenew.Store
	if _, err := store.Swap(loadPair(t, user)); err != nil {
		t.Fatal(err)
	}
	now := testNow()
	clock := func() time.Time { return now }
	cc := ClientConfig{ServerName: "fe.lab.test", RootCAs: pool(t, "ca"), Store: &store}
	if ccfg != nil {
		ccfg(&cc)
	}
	c, err := NewClient(cc, WithClock(clock), WithRand(testutil.NewReader(1)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(ServerConfig{Certificate: loadPair(t, "server"), ClientCAs: pool(t, "ca")},
		WithClock(clock), WithRand(testutil.NewReader(2)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c, s
}

// handshake runs the SIP round trips: REGISTER(ClientHello) → 401(flight) →
// REGISTER(flight) → 401(Finished) and returns the number of round trips.
func handshake(t testing.TB, c *Client, s *Server, tamper func(round int, b []byte)) (int, error) {
	t.Helper()
	out, done, err := c.Step(nil)
	if err != nil || done {
		t.Fatalf("client hello: done=%v err=%v", done, err)
	}
	for round := 1; round < 10; round++ {
		if tamper != nil {
			tamper(round, out)
		}
		// Each flight travels base64-encoded in gssapi-data.
		tok, err := DecodeGSSAPIData(EncodeGSSAPIData(out))
		if err != nil {
			t.Fatalf("round %d: client flight framing: %v", round, err)
		}
		sout, sdone, err := s.Step(tok)
		if err != nil {
			return round, err
		}
		out, done, err = c.Step(sout)
		if err != nil {
			return round, err
		}
		if done {
			if !sdone {
				t.Fatalf("round %d: client done before server", round)
			}
			if len(out) != 0 {
				t.Fatalf("client has a flight after done: %d bytes", len(out))
			}
			return round, nil
		}
	}
	t.Fatal("handshake did not finish in 10 round trips")
	return 0, nil
}

func TestHandshakeAndSigning(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	for _, tc := range []struct {
		name string
		cfg  func(*ClientConfig)
	}{
		{"default", nil},
		{"tls10-aes256", func(c *ClientConfig) {
			c.MaxVersion = tls.VersionTLS10
			c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_256_CBC_SHA}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := newPumps(t, "user", tc.cfg)
			rounds, err := handshake(t, c, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rounds != 2 {
				t.Errorf("round trips = %d, want 2 (protocols.md §5.1)", rounds)
			}
			cm, err := c.Mechanism()
			if err != nil {
				t.Fatal(err)
			}
			sm, err := s.Mechanism()
			if err != nil {
				t.Fatal(err)
			}
			buf := []byte("<TLS-DSK><13317733><1><SIP Communications Service><fe.lab.test><callid><3><REGISTER><sip:alice@lab.test><tag><sip:alice@lab.test><><><><>")
			sig, err := cm.Sign(buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != 40 {
				t.Errorf("signature %q: want 40 hex (HMAC-SHA1)", sig)
			}
			if err = sm.Verify(buf, sig); err != nil {
				t.Errorf("server verify client signature: %v", err)
			}
			if err = sm.Verify(buf, string(bytes.ToLower([]byte(sig)))); err != nil {
				t.Errorf("lowercase hex must verify: %v", err)
			}
			if err = cm.Verify(buf, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("client key must not verify as server key: %v", err)
			}
			rsp, _ := sm.Sign(append(buf, "<200>"...))
			if err = cm.Verify(append(buf, "<200>"...), rsp); err != nil {
				t.Errorf("client verify server signature: %v", err)
			}
			if err = sm.Verify(append(buf, 'x'), sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("modified buffer verified: %v", err)
			}
			// The non-EMS fallback PRF (RFC 2246/5246 §5 over the key-logged
			// master secret) agrees with ExportKeyingMaterial.
			for _, u := range []*pump{c.u, s.u} {
				if u.viaPRF {
					t.Error("EMS handshake used the fallback")
				}
				k, kerr := DeriveKeys(u.prfMaterial(), u.keys.MAC)
				if kerr != nil || k != *u.keys {
					t.Errorf("fallback PRF disagrees with ExportKeyingMaterial: %v", kerr)
				}
			}
			peer, err := s.PeerCertificate()
			if err != nil || peer.Subject.CommonName != "alice@lab.test" {
				t.Errorf("peer certificate = %v, %v", peer, err)
			}
			if got := cm.String(); got != "tlsdsk.Mechanism{HMAC-SHA1 [redacted]}" {
				t.Errorf("String = %q", got)
			}
			// After done, an empty step is a no-op and data is an error.
			if _, done, err := c.Step(nil); !done || err != nil {
				t.Errorf("step after done: %v %v", done, err)
			}
		})
	}
}

func TestHandshakeFailures(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	t.Run("rogue client certificate", func(t *testing.T) {
		c, s := newPumps(t, "rogue", nil)
		_, err := handshake(t, c, s, nil)
		if !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v, want ErrHandshake", err)
		}
		if _, err := s.Mechanism(); !errors.Is(err, ErrNotDone) {
			t.Errorf("mechanism after failure: %v", err)
		}
	})
	t.Run("tampered finished", func(t *testing.T) {
		c, s := newPumps(t, "user", nil)
		_, err := handshake(t, c, s, func(round int, b []byte) {
			if round == 2 {
				b[len(b)-3] ^= 0x40 // inside the encrypted Finished record
			}
		})
		if !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v, want ErrHandshake", err)
		}
	})
	t.Run("tampered client hello", func(t *testing.T) {
		c, s := newPumps(t, "user", nil)
		_, err := handshake(t, c, s, func(round int, b []byte) {
			if round == 1 {
				b[15] ^= 0xff // client random: caught by the Finished MACs
			}
		})
		if !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v, want ErrHandshake", err)
		}
	})
	t.Run("wrong server name", func(t *testing.T) {
		c, s := newPumps(t, "user", func(c *ClientConfig) { c.ServerName = "other.lab.test" })
		_, err := handshake(t, c, s, nil)
		if !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v, want ErrHandshake", err)
		}
	})
	t.Run("garbage framing", func(t *testing.T) {
		_, s := newPumps(t, "user", nil)
		_, _, err := s.Step([]byte{22, 3, 1, 0, 50, 1})
		var re *RecordError
		if !errors.As(err, &re) || !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v, want RecordError", err)
		}
	})
	t.Run("garbage handshake", func(t *testing.T) {
		_, s := newPumps(t, "user", nil)
		_, _, err := s.Step([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
		if !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("close mid handshake", func(t *testing.T) {
		c, _ := newPumps(t, "user", nil)
		if _, _, err := c.Step(nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Step([]byte{1}); !errors.Is(err, ErrClosed) {
			t.Errorf("step after close: %v", err)
		}
		_ = c.Close()
	})
	t.Run("no store", func(t *testing.T) {
		if _, err := NewClient(ClientConfig{}); err == nil {
			t.Error("want config error")
		}
		if _, err := NewClient(ClientConfig{Store: new(certrenew.Store), MaxVersion: tls.VersionTLS13}); !errors.Is(err, errVersion) {
			t.Errorf("TLS 1.3: %v", err)
		}
		if _, err := NewClient(ClientConfig{Store: new(certrenew.Store), CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}); !errors.Is(err, errSuite) {
			t.Errorf("GCM suite: %v", err)
		}
	})
	t.Run("empty store", func(t *testing.T) {
		var store certrenew.Store
		c, err := NewClient(ClientConfig{ServerName: "fe.lab.test", RootCAs: pool(t, "ca"), Store: &store},
			WithClock(testNow))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := NewServer(ServerConfig{Certificate: loadPair(t, "server"), ClientCAs: pool(t, "ca")}, WithClock(testNow))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := handshake(t, c, s, nil); !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v", err)
		}
	})
}
