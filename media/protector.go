package media

import (
	"errors"
	"sync/atomic"

	"github.com/handset-dev/handset/media/srtp"
)

// protector is the rtp.Protector of a Session's streams. It lets the
// session switch SRTP on, off or to a new srtp.Session between packets
// without rebuilding the stream, and keeps the previous receive key as a
// fallback when the peer re-keys without an MKI: RFC 4568 §7.1.4 leaves the
// packets in flight between the answer and the peer's switch undecryptable
// otherwise (with an MKI, srtp.Session holds both keys itself).
type protector struct {
	st atomic.Pointer[protState]
	// verified counts packets the current key verified while a fallback
	// is installed; the fallback goes after fallbackPackets.
	verified atomic.Uint32
}

type protState struct {
	cur      *srtp.Session // nil: plain RTP
	fallback *srtp.Session // previous receive key, nil when none
}

// fallbackPackets is how many packets under the new key end the overlap
// (1 s of 20 ms packets: longer than any reordering we expect).
const fallbackPackets = 50

func (p *protector) set(cur, fallback *srtp.Session) {
	p.verified.Store(0)
	p.st.Store(&protState{cur: cur, fallback: fallback})
}

func (p *protector) load() *protState {
	if st := p.st.Load(); st != nil {
		return st
	}
	return &protState{}
}

func (p *protector) ProtectRTP(dst, pkt []byte) ([]byte, error) {
	st := p.load()
	if st.cur == nil {
		return pkt, nil
	}
	return st.cur.ProtectRTP(dst, pkt)
}

func (p *protector) ProtectRTCP(dst, pkt []byte) ([]byte, error) {
	st := p.load()
	if st.cur == nil {
		return pkt, nil
	}
	return st.cur.ProtectRTCP(dst, pkt)
}

func (p *protector) UnprotectRTP(dst, pkt []byte) ([]byte, error) {
	return p.unprotect(dst, pkt, (*srtp.Session).UnprotectRTP)
}

func (p *protector) UnprotectRTCP(dst, pkt []byte) ([]byte, error) {
	return p.unprotect(dst, pkt, (*srtp.Session).UnprotectRTCP)
}

func (p *protector) unprotect(dst, pkt []byte, fn func(*srtp.Session, []byte, []byte) ([]byte, error)) ([]byte, error) {
	st := p.load()
	if st.cur == nil {
		return pkt, nil
	}
	out, err := fn(st.cur, dst, pkt)
	if err == nil {
		if st.fallback != nil && p.verified.Add(1) >= fallbackPackets {
			p.st.CompareAndSwap(st, &protState{cur: st.cur})
		}
		return out, nil
	}
	if st.fallback != nil && (errors.Is(err, srtp.ErrAuth) || errors.Is(err, srtp.ErrUnknownMKI)) {
		if out, ferr := fn(st.fallback, dst, pkt); ferr == nil {
			return out, nil
		}
	}
	return nil, err
}
