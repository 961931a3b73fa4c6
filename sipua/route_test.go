package sipua

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/internal/testutil"
	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/labfetest"
)

// TestServerRequestSignedBothWays: bob sends a signed OPTIONS to alice's AOR
// through labfe; alice's handset verifies labfe's signature on the incoming
// request and answers with a signed 200, which labfe verifies and re-signs
// for bob, whose handset verifies it (protocols.md §2.4).
func TestServerRequestSignedBothWays(t *testing.T) {
	testutil.VerifyNoLeaks(t)
	fe := labfetest.Start(t)
	rec := newRecorder()
	newUser := func(aor, user, epid string) *Handset {
		h, err := New(Config{AOR: aor, AuthUser: user, AuthDomain: "CONTOSO", Password: "Passw0rd!", Server: "pool.contoso.test", Epid: epid},
			WithTLSConfig(&tls.Config{RootCAs: fe.CAPool()}), WithDialAddr(fe.Addr()), WithObserver(rec))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		if err := h.Register(context.Background()); err != nil {
			t.Fatal(err)
		}
		return h
	}
	alice := newUser("alice@contoso.test", "alice", "aaaaaaaaaa")
	bob := newUser("bob@contoso.test", "bob", "bbbbbbbbbb")
	_ = alice

	bob.mu.Lock()
	c, sa := bob.conn, bob.sa
	bob.mu.Unlock()
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", User: "alice", Host: "contoso.test"})
	lhost, lport := splitHostPortInt(c.local)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: lhost, Port: lport, Params: sip.NewParams()}
	via.Params.Add("branch", "z9hG4bK"+bob.randHex(8))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "contoso.test"}, Params: sip.NewParams()}
	from.Params.Add("tag", bob.randHex(5))
	from.Params.Add("epid", bob.epid)
	callID := sip.CallIDHeader(bob.randHex(16))
	maxfwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(&maxfwd)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "contoso.test"}})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	req.AppendHeader(sip.NewHeader("Contact", "<"+bob.GRUU()+">"))
	req.SetTransport("TLS")
	req.SetDestination(c.dest)
	if _, err := bob.sign(req, sa, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := bob.roundTrip(ctx, c, req, sa)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(authInfoHeaders(res)) == 0 {
		t.Fatalf("OPTIONS → %d (signed: %v)", res.StatusCode, len(authInfoHeaders(res)) > 0)
	}
	var in, out bool
	for _, ev := range rec.kinds(EventMessage) {
		if !ev.Outgoing && strings.HasPrefix(ev.Message, "OPTIONS sip:alice@contoso.test") {
			in = true
		}
		if ev.Outgoing && strings.HasPrefix(ev.Message, "SIP/2.0 200") && strings.Contains(ev.Message, "Authorization: NTLM") {
			out = true
		}
	}
	if !in || !out {
		t.Errorf("alice: received OPTIONS %v, sent signed 200 %v", in, out)
	}
	st := fe.Stats().Total
	if st.BadSignatures+st.Replays+st.Malformed != 0 {
		t.Errorf("labfe stats = %+v", st)
	}
	_ = labfe.DefaultFQDN
}
