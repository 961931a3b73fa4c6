// Package baresip runs a real baresip softphone on loopback for tests: one
// account registered with digest to a SIP server over UDP or TCP, answering
// calls automatically with SDES-SRTP, sending a tone from a WAV file (no
// sound card) and dumping the audio it decodes to a WAV file, so a test can
// tell that media flowed both ways. Based on ../shared/peers/baresip.
package baresip

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handset-dev/handset/internal/peers"
	"github.com/handset-dev/handset/internal/testutil"
)

// Options describe the account.
type Options struct {
	// User, Password and Domain make the AOR user@Domain and its digest
	// credentials. Required.
	User, Password, Domain string
	// Registrar is the server's host:port (kamailio's UDP/TCP address).
	Registrar string
	// Transport to the registrar: "udp" (default) or "tcp".
	Transport string
	// MediaEnc is baresip's mediaenc: "srtp" (default: SRTP when offered,
	// RTP/AVP otherwise), "srtp-mand" (RTP/SAVP required) or "none".
	MediaEnc string
	// Codecs is audio_codecs; empty means PCMU,PCMA.
	Codecs string
	// ToneHz is the frequency of the tone baresip sends (8 kHz, 16-bit
	// mono WAV); 0 means 440.
	ToneHz float64
	// RegInterval is regint (s); 0 means 600.
	RegInterval int
}

// Phone is a running baresip.
type Phone struct {
	*peers.Proc
	Dir      string // config directory (-f)
	SIPAddr  string // 127.0.0.1:port baresip listens on (UDP and TCP)
	CtrlAddr string // ctrl_tcp listener (netstring JSON commands)
	DumpDir  string // sndfile writes dump-*-dec.wav (received) and -enc.wav (sent) here
	AOR      string
}

// Start writes the config directory into t.TempDir() and runs baresip. It
// returns once baresip runs; call WaitRegistered (or the registrar's log) to
// wait for the registration. A missing baresip skips locally and fails in CI.
func Start(t testing.TB, o Options) *Phone {
	t.Helper()
	bin := testutil.RequirePeer(t, "baresip")
	modDir := "/usr/lib/baresip/modules"
	testutil.RequirePeer(t, filepath.Join(modDir, "srtp.so"))
	if o.User == "" || o.Domain == "" || o.Registrar == "" {
		t.Fatal("baresip: User, Domain and Registrar are required")
	}
	if o.Transport == "" {
		o.Transport = "udp"
	}
	if o.MediaEnc == "" {
		o.MediaEnc = "srtp"
	}
	if o.Codecs == "" {
		o.Codecs = "PCMU,PCMA"
	}
	if o.ToneHz == 0 {
		o.ToneHz = 440
	}
	if o.RegInterval == 0 {
		o.RegInterval = 600
	}
	dir := t.TempDir()
	p := &Phone{Dir: dir, DumpDir: filepath.Join(dir, "dump"), AOR: o.User + "@" + o.Domain}
	if err := os.Mkdir(p.DumpDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// baresip opens TLS on its SIP port + 1: keep both free.
	sipPort := peers.FreePorts(t, 2)
	p.SIPAddr = fmt.Sprintf("127.0.0.1:%d", sipPort)
	p.CtrlAddr = fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t))
	rtp := peers.FreePorts(t, 20)
	tone := filepath.Join(dir, "tone.wav")
	peers.WriteFile(t, tone, ToneWAV(o.ToneHz, 8000, 60*time.Second))
	cfg := strings.Join([]string{
		"poll_method epoll",
		"sip_listen " + p.SIPAddr,
		"sip_trans_def " + o.Transport,
		"net_interface 127.0.0.1",
		"audio_source aufile," + tone,
		"audio_alert aufile,/dev/null",
		"audio_player aufile,/dev/null",
		fmt.Sprintf("rtp_ports %d-%d", rtp, rtp+19),
		"rtcp_mux no",
		"jitter_buffer_delay 1-10",
		"snd_path " + p.DumpDir,
		"module_path " + modDir,
		"module g711.so",
		"module aufile.so",
		"module srtp.so",
		"module sndfile.so",
		"module_tmp uuid.so",
		"module_tmp account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		"ctrl_tcp_listen " + p.CtrlAddr,
		"",
	}, "\n")
	peers.WriteFile(t, filepath.Join(dir, "config"), []byte(cfg))
	acct := fmt.Sprintf("<sip:%s@%s;transport=%s>;auth_pass=%s;outbound=\"sip:%s;transport=%s\";regint=%d;answermode=auto;mediaenc=%s;audio_codecs=%s\n",
		o.User, o.Domain, o.Transport, o.Password, o.Registrar, o.Transport, o.RegInterval, o.MediaEnc, o.Codecs)
	peers.WriteFile(t, filepath.Join(dir, "accounts"), []byte(acct))
	p.Proc = peers.Start(t, "baresip", dir, bin, "-f", dir, "-s")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitListening(ctx, p.CtrlAddr); err != nil {
		t.Fatalf("baresip did not start: %v\n%s", err, p.Log.String())
	}
	return p
}

// WaitRegistered waits for baresip's report of a 200 OK to its REGISTER.
func (p *Phone) WaitRegistered(ctx context.Context) error {
	_, err := p.WaitFor(ctx, regexp.MustCompile(regexp.QuoteMeta(p.AOR)+`: \{[^}]*\} 200 OK`))
	return err
}

// WaitEstablished waits for the n-th established call.
func (p *Phone) WaitEstablished(ctx context.Context, n int) error {
	_, err := p.WaitForN(ctx, regexp.MustCompile(`(?i)call established`), n)
	return err
}

// WaitClosed waits for the n-th call to end, by either side's BYE
// ("Call with <peer> terminated (duration: …)").
func (p *Phone) WaitClosed(ctx context.Context, n int) error {
	_, err := p.WaitForN(ctx, regexp.MustCompile(`Call with \S+ terminated`), n)
	return err
}

// Dial makes baresip call uri, through its ctrl_tcp module (a netstring
// with a JSON command); it returns baresip's response, which says whether
// the command was accepted, not whether the call was answered.
func (p *Phone) Dial(ctx context.Context, uri string) (string, error) {
	return p.command(ctx, "dial", uri)
}

// Hangup makes baresip end its current call.
func (p *Phone) Hangup(ctx context.Context) (string, error) {
	return p.command(ctx, "hangup", "")
}

func (p *Phone) command(ctx context.Context, cmd, params string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.CtrlAddr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	js, err := json.Marshal(map[string]string{"command": cmd, "params": params, "token": "t1"})
	if err != nil {
		return "", err
	}
	if _, err := fmt.Fprintf(c, "%d:%s,", len(js), js); err != nil {
		return "", err
	}
	// Responses and events come as netstrings; return the response.
	r := bufio.NewReader(c)
	for {
		n, err := r.ReadString(':')
		if err != nil {
			return "", err
		}
		size, err := strconv.Atoi(strings.TrimSpace(n[:len(n)-1]))
		if err != nil || size < 0 || size > 1<<20 {
			return "", fmt.Errorf("baresip: ctrl_tcp: bad netstring length %q", n)
		}
		buf := make([]byte, size+1)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		msg := string(buf[:size])
		if strings.Contains(msg, `"response"`) {
			return msg, nil
		}
	}
}

// Dumps returns the sndfile dumps of received (decoded) and sent (encoded)
// audio, "" when a file is missing.
func (p *Phone) Dumps() (received, sent string) {
	ms, _ := filepath.Glob(filepath.Join(p.DumpDir, "dump-*"))
	for _, m := range ms {
		switch {
		case strings.HasSuffix(m, "-dec.wav"):
			received = m
		case strings.HasSuffix(m, "-enc.wav"):
			sent = m
		}
	}
	return received, sent
}

// ToneWAV returns a 16-bit mono PCM WAV of a sine at hz, amplitude 0.5.
func ToneWAV(hz float64, rate int, d time.Duration) []byte {
	n := int(d.Seconds() * float64(rate))
	b := make([]byte, 44+2*n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		v := int16(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}

// WAVEnergy returns the number of 16-bit samples in a WAV file's data and
// their RMS (0 for silence), to tell that audio arrived.
func WAVEnergy(path string) (samples int, rms float64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, 0, fmt.Errorf("baresip: %s: not a WAV file", path)
	}
	// Find the data chunk (sndfile may write extra chunks).
	i := 12
	for i+8 <= len(b) {
		id, size := string(b[i:i+4]), int(binary.LittleEndian.Uint32(b[i+4:]))
		i += 8
		if id == "data" {
			end := min(len(b), i+size)
			if size == 0 || size == -1 || end < i {
				end = len(b)
			}
			var sum float64
			for j := i; j+1 < end; j += 2 {
				v := float64(int16(binary.LittleEndian.Uint16(b[j:])))
				sum += v * v
				samples++
			}
			if samples > 0 {
				rms = math.Sqrt(sum / float64(samples))
			}
			return samples, rms, nil
		}
		i += size
	}
	return 0, 0, fmt.Errorf("baresip: %s: no data chunk", path)
}
