package sipae_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // NTLM's own primitives, the floor of B2
	"crypto/rc4" //nolint:gosec // idem
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/handset-dev/handset/auth/ntlm"
	"github.com/handset-dev/handset/auth/sipae"
	"github.com/handset-dev/handset/internal/testutil"
)

// PERFORMANCE.md §6 B2 as ratios from one run: NTLM AUTHENTICATE, and
// MS-SIPAE signing and verification of a recorded Lync SUBSCRIBE (the
// provisioning-v2 one, protocols.md §7.1), against a stdlib floor doing the
// same cryptography over the same bytes: for AUTHENTICATE the NTLMv2 chain
// (NT hash → HMAC-MD5(user‖domain) → HMAC-MD5(challenge‖blob) →
// HMAC-MD5(proof), with MD5 standing in for MD4, which the standard library
// lacks), for the signature HMAC-MD5(seq‖buffer)[:8] sealed with RC4 keyed
// MD5(SealingKey‖seq) (the datagram MAC, MS-NLMP 3.4.4.2). Goal: ours/floor
// ≤ 1.5.

var benchNow = func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

// subscribeFields are the signed fields of the provisioning SUBSCRIBE.
var subscribeFields = sipae.SignedFields{
	CallID: "7d2c1e9a0b3f4e5d8c6b7a9f0e1d2c3b", CSeqNum: "1", CSeqMethod: "SUBSCRIBE",
	FromURI: "sip:alice@contoso.test", FromTag: "3e49177a52",
	ToURI: "sip:alice@contoso.test", Expires: "0",
}

type b2Pair struct {
	challenge []byte
	client    *sipae.SA
	server    *sipae.SA
	sess      *ntlm.Session
}

func newB2Pair(tb testing.TB) b2Pair {
	tb.Helper()
	fe, challenge, err := ntlm.NewChallenge(ntlm.AcceptorConfig{NbDomain: "CONTOSO", Rand: testutil.NewReader(1), Now: benchNow}, true)
	if err != nil {
		tb.Fatal(err)
	}
	authMsg, sess, err := ntlm.Authenticate(ntlm.ClientConfig{
		Credentials: ntlm.Credentials{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
		Rand:        testutil.NewReader(2), Now: benchNow,
	}, challenge)
	if err != nil {
		tb.Fatal(err)
	}
	ch, err := sipae.Parse(fmt.Sprintf(`NTLM opaque="1E3A4F2C", gssapi-data="%s", targetname="pool.contoso.test", realm="SIP Communications Service", version=4`,
		base64.StdEncoding.EncodeToString(challenge)))
	if err != nil {
		tb.Fatal(err)
	}
	cl := sipae.NewClientSA(sipae.SAConfig{Rand: testutil.NewReader(3)})
	if err = cl.Begin(ch); err != nil {
		tb.Fatal(err)
	}
	if err = cl.Establish(sipae.NTLMMechanism(sess), ch.Opaque); err != nil {
		tb.Fatal(err)
	}
	feSess, _, err := fe.Accept(authMsg, func(string, string) (string, bool) { return "Passw0rd!", true })
	if err != nil {
		tb.Fatal(err)
	}
	srv := sipae.NewServerSA(sipae.SAConfig{Scheme: sipae.NTLM, Realm: ch.Realm, TargetName: ch.TargetName, Version: 4, Rand: testutil.NewReader(4)})
	if err := srv.Begin(sipae.Params{}); err != nil {
		tb.Fatal(err)
	}
	if err := srv.Establish(sipae.NTLMMechanism(feSess), ch.Opaque); err != nil {
		tb.Fatal(err)
	}
	return b2Pair{challenge: challenge, client: cl, server: srv, sess: sess}
}

// floorMAC is the datagram NTLM MAC with ESS and KEY_EXCH over buf.
type floorMAC struct {
	sign, seal []byte
	mac        []byte
}

func (f *floorMAC) sum(buf []byte, seq uint32) []byte {
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], seq)
	h := hmac.New(md5.New, f.sign)
	h.Write(le[:])
	h.Write(buf)
	cs := h.Sum(f.mac[:0])[:8]
	k := md5.Sum(append(append([]byte{}, f.seal...), le[:]...)) //nolint:gosec // NTLM
	c, _ := rc4.NewCipher(k[:])                                 //nolint:gosec // NTLM
	c.XORKeyStream(cs, cs)
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out, 1)
	copy(out[4:12], cs)
	binary.LittleEndian.PutUint32(out[12:], seq)
	return out
}

func BenchmarkB2(b *testing.B) {
	b.Run("authenticate", func(b *testing.B) {
		p := newB2Pair(b)
		cfg := ntlm.ClientConfig{Credentials: ntlm.Credentials{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Rand: testutil.NewReader(5), Now: benchNow}
		pw := utf16le("Passw0rd!")
		ud := utf16le("ALICEcontoso")
		blob := make([]byte, 28+len(p.challenge)/2)
		serverChallenge := p.challenge[24:32]
		testutil.BenchRatio(b, func(int) {
			if _, _, err := ntlm.Authenticate(cfg, p.challenge); err != nil {
				b.Fatal(err)
			}
		}, testutil.Peer{Name: "floor", Fn: func(int) {
			nt := md5.Sum(pw) //nolint:gosec // stands in for MD4
			h := hmac.New(md5.New, nt[:])
			h.Write(ud)
			key := h.Sum(nil)
			h = hmac.New(md5.New, key)
			h.Write(serverChallenge)
			h.Write(blob)
			proof := h.Sum(nil)
			h = hmac.New(md5.New, key)
			h.Write(proof)
			_ = h.Sum(nil)
		}})
	})
	buf := sipae.Buffer(4, withAuth(subscribeFields, "1", "0a1b2c3d"))
	fm := &floorMAC{sign: bytes.Repeat([]byte{7}, 16), seal: bytes.Repeat([]byte{9}, 16), mac: make([]byte, 0, 16)}
	b.Run("sign", func(b *testing.B) {
		p := newB2Pair(b)
		testutil.BenchRatio(b, func(int) {
			if _, err := p.client.Sign(subscribeFields); err != nil {
				b.Fatal(err)
			}
		}, testutil.Peer{Name: "floor", Fn: func(i int) { _ = fm.sum(buf, uint32(i)) }})
	})
	b.Run("verify", func(b *testing.B) {
		// A ring of signed messages: the replay window accepts each once,
		// so each lap starts a fresh pair (setup outside the ratio's
		// dominant cost: one lap is 4096 verifications).
		const ring = 4096
		mk := func() (b2Pair, []sipae.Params) {
			np := newB2Pair(b)
			ps := make([]sipae.Params, ring)
			for i := range ps {
				s, err := np.client.Sign(subscribeFields)
				if err != nil {
					b.Fatal(err)
				}
				ps[i] = s
			}
			return np, ps
		}
		p, ps := mk()
		want := fm.sum(buf, 100)
		testutil.BenchRatio(b, func(i int) {
			if i%ring == 0 && i > 0 {
				b.StopTimer()
				p, ps = mk()
				b.StartTimer()
			}
			if err := p.server.Verify(subscribeFields, ps[i%ring]); err != nil {
				b.Fatal(err)
			}
		}, testutil.Peer{Name: "floor", Fn: func(int) {
			if !hmac.Equal(fm.sum(buf, 100), want) {
				b.Fatal("floor MAC differs")
			}
		}})
	})
}

func withAuth(f sipae.SignedFields, num, rnd string) sipae.SignedFields {
	f.Scheme, f.Num, f.Rand, f.Realm, f.TargetName = sipae.NTLM, num, rnd, "SIP Communications Service", "pool.contoso.test"
	return f
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(out[2*i:], c)
	}
	return out
}
