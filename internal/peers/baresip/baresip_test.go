package baresip_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/handset-dev/handset/internal/peers/baresip"
	"github.com/handset-dev/handset/internal/peers/kamailio"
)

// TestRegistersAndAnswersSRTP: baresip registers with digest to kamailio
// over UDP; a raw INVITE with an SDES offer (RTP/SAVP, a=crypto with a
// 1-byte MKI, as Lync offers it) sent through kamailio is auto-answered
// with SDES-SRTP; its SRTP decrypts with the key of its answer, and it
// decodes the SRTP we send (its sndfile dump holds our tone).
func TestRegistersAndAnswersSRTP(t *testing.T) {
	for _, tc := range []struct {
		enc     string
		lyncMKI bool
	}{
		{"srtp", false},
		{"srtp-mand", false},
		{"srtp", true},
	} {
		t.Run(fmt.Sprintf("mediaenc=%s/lyncMKI=%v", tc.enc, tc.lyncMKI), func(t *testing.T) { answersSRTP(t, tc.enc, tc.lyncMKI) })
	}
}

// answersSRTP places one call to baresip. With lyncMKI the offer has two
// crypto lines as Lync's (tag 1 with a 1-byte MKI, tag 2 without); we send
// with an MKI only when the answer kept it, which is what a handset must do
// with baresip: baresip 1.0.0 accepts an MKI line, answers without MKI and
// then fails to decrypt packets that carry the MKI.
func answersSRTP(t *testing.T, enc string, lyncMKI bool) {
	k := kamailio.Start(t, kamailio.Options{NoCallAuth: true})
	p := baresip.Start(t, baresip.Options{User: "bob", Password: "secret2", Domain: kamailio.Domain, Registrar: k.UDPAddr, MediaEnc: enc})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.WaitRegistered(ctx, "bob", 1); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}

	sipConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sipConn.Close()
	rtpConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	proxy, err := net.ResolveUDPAddr("udp", k.UDPAddr)
	if err != nil {
		t.Fatal(err)
	}
	ua := &rawUA{t: t, conn: sipConn, proxy: proxy}

	keys := map[string][]byte{"1": make([]byte, 30), "2": make([]byte, 30)}
	for _, k := range keys {
		_, _ = rand.Read(k)
	}
	b64 := func(tag string) string { return base64.StdEncoding.EncodeToString(keys[tag]) }
	rtpPort := rtpConn.LocalAddr().(*net.UDPAddr).Port
	crypto := "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + b64("1") + "|2^31\r\n"
	if lyncMKI {
		crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + b64("1") + "|2^31|1:1\r\n" +
			"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + b64("2") + "|2^31\r\n"
	}
	offer := fmt.Sprintf("v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:%d\r\n%sa=sendrecv\r\n", rtpPort, rtpPort+1, crypto)
	res, err := ua.invite(ctx, "bob", offer)
	if err != nil {
		t.Fatalf("INVITE: %v\nbaresip:\n%s", err, p.Log.String())
	}
	body := string(res.Body())
	if !strings.Contains(body, "RTP/SAVP") {
		t.Errorf("answer is not RTP/SAVP:\n%s", body)
	}
	m := regexp.MustCompile(`a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)(\|[^\r\n]*)?`).FindStringSubmatch(body)
	if m == nil || keys[m[1]] == nil {
		t.Fatalf("no crypto line for an offered tag in the answer:\n%s", body)
	}
	answerMKI := strings.Count(m[3], "|") == 2
	t.Logf("baresip answer crypto: %q (tag %s, MKI kept: %v)", m[0], m[1], answerMKI)
	remoteKey, err := base64.StdEncoding.DecodeString(m[2])
	if err != nil || len(remoteKey) != 30 {
		t.Fatalf("answer key: %v (%d bytes)", err, len(remoteKey))
	}
	mm := regexp.MustCompile(`m=audio (\d+) `).FindStringSubmatch(body)
	cm := regexp.MustCompile(`c=IN IP4 ([0-9.]+)`).FindStringSubmatch(body)
	if mm == nil || cm == nil {
		t.Fatalf("answer without media address:\n%s", body)
	}
	remote, err := net.ResolveUDPAddr("udp", net.JoinHostPort(cm[1], mm[1]))
	if err != nil {
		t.Fatal(err)
	}
	if err = ua.ack(res); err != nil {
		t.Fatal(err)
	}
	if err = p.WaitEstablished(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// Media: 100 packets of 20 ms PCMU each way, paced by a media clock.
	var opts []srtp.ContextOption
	if answerMKI {
		opts = append(opts, srtp.MasterKeyIndicator([]byte{1}))
	}
	ours := keys[m[1]]
	protect, err := srtp.CreateContext(ours[:16], ours[16:], srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(remoteKey[:16], remoteKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	recvd, authFail := make(chan int, 1), make(chan int, 1)
	go func() {
		ok, bad := 0, 0
		buf := make([]byte, 1500)
		for {
			_ = rtpConn.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, _, rerr := rtpConn.ReadFrom(buf)
			if rerr != nil {
				recvd <- ok
				authFail <- bad
				return
			}
			if _, derr := dec.DecryptRTP(nil, buf[:n], nil); derr != nil {
				bad++
				continue
			}
			ok++
		}
	}()
	tone := pcmuTone()
	tick := time.NewTicker(20 * time.Millisecond)
	for i := range 100 {
		<-tick.C
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: 0x11223344}, Payload: tone[(i%50)*160 : (i%50+1)*160]}
		raw, merr := pkt.Marshal()
		if merr != nil {
			t.Fatal(merr)
		}
		out, perr := protect.EncryptRTP(nil, raw, nil)
		if perr != nil {
			t.Fatal(perr)
		}
		if _, werr := rtpConn.WriteTo(out, remote); werr != nil {
			t.Fatal(werr)
		}
	}
	tick.Stop()
	if err = ua.bye(ctx, res); err != nil {
		t.Fatal(err)
	}
	got, bad := <-recvd, <-authFail
	if got < 50 || bad != 0 {
		t.Errorf("from baresip: %d SRTP packets decrypted, %d failed", got, bad)
	}
	if err = p.WaitClosed(ctx, 1); err != nil {
		t.Fatal(err)
	}
	dump, _ := p.Dumps()
	if dump == "" {
		t.Fatalf("no sndfile dump of received audio:\n%s", p.Log.String())
	}
	samples, rms, err := baresip.WAVEnergy(dump)
	if err != nil || samples < 8000 || rms < 1000 {
		t.Errorf("baresip decoded %d samples of our tone, RMS %.0f (%v)", samples, rms, err)
	}
	t.Logf("baresip → us: %d SRTP packets; us → baresip: %d samples decoded, RMS %.0f", got, samples, rms)
}

// pcmuTone is one second of a 1 kHz tone in G.711 µ-law.
func pcmuTone() []byte {
	out := make([]byte, 8000)
	for i := range out {
		// 1 kHz at 8 kHz: eight samples per period.
		v := [8]float64{0, 0.707, 1, 0.707, 0, -0.707, -1, -0.707}[i%8]
		out[i] = ulaw(int16(v * 16000))
	}
	return out
}

// ulaw encodes one sample (ITU-T G.711 µ-law).
func ulaw(s int16) byte {
	const bias, clip = 0x84, 32635
	sign := byte(0)
	v := int(s)
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^(sign | byte(exp<<4) | byte(mant))
}

// rawUA is the smallest UDP UAC for one call through a proxy.
type rawUA struct {
	t      *testing.T
	conn   net.PacketConn
	proxy  *net.UDPAddr
	callID string
	tag    string
	cseq   uint32
	to     string
}

func (u *rawUA) local() string { return u.conn.LocalAddr().String() }

func (u *rawUA) send(msg string) error {
	_, err := u.conn.WriteTo([]byte(msg), u.proxy)
	return err
}

// recv returns the next response for method, skipping provisional ones and
// retransmissions of others.
func (u *rawUA) recv(ctx context.Context, method string) (*sip.Response, error) {
	buf := make([]byte, 65535)
	for {
		dl, _ := ctx.Deadline()
		_ = u.conn.SetReadDeadline(dl)
		n, _, err := u.conn.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			return nil, err
		}
		res, ok := msg.(*sip.Response)
		if !ok {
			continue // a request from the far end: not expected here
		}
		if res.CSeq() == nil || string(res.CSeq().MethodName) != method || res.CSeq().SeqNo != u.cseq || res.IsProvisional() {
			continue
		}
		return res, nil
	}
}

func (u *rawUA) invite(ctx context.Context, user, sdp string) (*sip.Response, error) {
	u.callID, u.tag, u.cseq, u.to = "raw-"+strconv.FormatInt(time.Now().UnixNano(), 36), "a1", 1, "sip:"+user+"@"+kamailio.Domain
	msg := fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKinv1;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:alice@%s>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@%s>\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", u.to, u.local(), kamailio.Domain, u.tag, u.to, u.callID, u.local(), len(sdp), sdp)
	if err := u.send(msg); err != nil {
		return nil, err
	}
	res, err := u.recv(ctx, "INVITE")
	if err != nil {
		return nil, err
	}
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("INVITE answered %d %s", res.StatusCode, res.Reason)
	}
	return res, nil
}

// inDialog builds a request along the route set of the 200 OK (RFC 3261
// §12.1.2: Record-Route reversed; the remote Contact is the target).
func (u *rawUA) inDialog(method string, cseq uint32, branch string, res *sip.Response) (string, error) {
	contact := res.GetHeader("Contact")
	if contact == nil {
		return "", errors.New("200 without Contact")
	}
	target := strings.Trim(strings.SplitN(contact.Value(), ">", 2)[0], "< ")
	var rr []string
	for _, h := range res.GetHeaders("Record-Route") {
		for _, v := range strings.Split(h.Value(), ",") {
			rr = append(rr, strings.TrimSpace(v))
		}
	}
	var routes strings.Builder
	for i := len(rr) - 1; i >= 0; i-- {
		routes.WriteString("Route: " + rr[i] + "\r\n")
	}
	return fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n%s"+
		"From: <sip:alice@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n",
		method, target, u.local(), branch, routes.String(), kamailio.Domain, u.tag, res.To().Value(), u.callID, cseq, method), nil
}

func (u *rawUA) ack(res *sip.Response) error {
	msg, err := u.inDialog("ACK", 1, "ack1", res)
	if err != nil {
		return err
	}
	return u.send(msg)
}

func (u *rawUA) bye(ctx context.Context, res *sip.Response) error {
	u.cseq = 2
	msg, err := u.inDialog("BYE", 2, "bye2", res)
	if err != nil {
		return err
	}
	if err = u.send(msg); err != nil {
		return err
	}
	r, err := u.recv(ctx, "BYE")
	if err != nil {
		return err
	}
	if r.StatusCode != 200 {
		return fmt.Errorf("BYE answered %d", r.StatusCode)
	}
	return nil
}
