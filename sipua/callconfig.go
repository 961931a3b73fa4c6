package sipua

import (
	"strconv"
	"strings"
	"time"
)

// Call defaults (Polycom UC Software admin guide; seed feature table).
const (
	DefaultMaxCalls        = 4                // "up to four simultaneous calls per single registration"
	DefaultAnswerDelay     = 2 * time.Second  // se.rt.ringAutoAnswer.timeout 2000 ms
	DefaultOfferingTimeout = 60 * time.Second // call.offeringTimeOut
	DefaultRingBackTimeout = 60 * time.Second // call.ringBackTimeOut
)

// CallConfig holds the call-handling settings of line 1. The zero value
// means every default; NoAutoAnswer and NoCallWaiting are negative so that
// the zero value answers (the emulator has no user to press Answer) and
// offers a waiting call, as the 84-Series does.
type CallConfig struct {
	// NoAutoAnswer lets incoming calls ring until OfferingTimeout
	// (call.autoAnswer.SIP=0), then answers 480; otherwise they are answered
	// after AnswerDelay.
	NoAutoAnswer bool
	// AnswerDelay is the ring before auto-answer
	// (se.rt.ringAutoAnswer.timeout); 0 means DefaultAnswerDelay, a
	// negative value answers at once.
	AnswerDelay time.Duration
	// OfferingTimeout bounds the ring of an unanswered incoming call
	// (call.offeringTimeOut); 0 means DefaultOfferingTimeout.
	OfferingTimeout time.Duration
	// RingBackTimeout bounds an outgoing call's ringback
	// (call.ringBackTimeOut); 0 means DefaultRingBackTimeout.
	RingBackTimeout time.Duration
	// MaxCalls is the number of calls (active or held) one registration
	// carries (reg.x.callsPerLineKey / call.callsPerLineKey); one more
	// incoming call is answered 486 Busy Here. 0 means DefaultMaxCalls.
	MaxCalls int
	// NoCallWaiting answers 486 to an incoming call while another call is
	// up (call.callWaiting.enable=0).
	NoCallWaiting bool
	// ShowDiversion reports an incoming call's Diversion header to the
	// observer (voIpProt.SIP.header.diversion.enable=1).
	ShowDiversion bool
}

func (c CallConfig) withDefaults() CallConfig {
	if c.AnswerDelay == 0 {
		c.AnswerDelay = DefaultAnswerDelay
	}
	if c.AnswerDelay < 0 {
		c.AnswerDelay = 0
	}
	if c.OfferingTimeout == 0 {
		c.OfferingTimeout = DefaultOfferingTimeout
	}
	if c.RingBackTimeout == 0 {
		c.RingBackTimeout = DefaultRingBackTimeout
	}
	if c.MaxCalls <= 0 {
		c.MaxCalls = DefaultMaxCalls
	}
	return c
}

// CallConfigFromValues maps the call parameters of line 1:
//
//	call.autoAnswer.SIP                   0: ring until call.offeringTimeOut; 1 or Null: auto-answer
//	se.rt.ringAutoAnswer.timeout          ring before auto-answer, milliseconds
//	call.offeringTimeOut / ringBackTimeOut seconds (0: unbounded, mapped to 24 h)
//	reg.1.callsPerLineKey / call.callsPerLineKey  calls per registration
//	call.callWaiting.enable               0: 486 while a call is up
//	voIpProt.SIP.header.diversion.enable  1: report Diversion to the observer
func CallConfigFromValues(get Lookup) (CallConfig, error) {
	val := func(n string) (string, bool) {
		v, ok := get(n)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	num := func(n string) (int, bool, error) {
		v, ok := val(n)
		if !ok {
			return 0, false, nil
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			return 0, false, &ConfigError{Field: n, Value: v, Msg: "want a non-negative integer"}
		}
		return i, true, nil
	}
	var c CallConfig
	if v, ok := val("call.autoAnswer.SIP"); ok && v == "0" {
		c.NoAutoAnswer = true
	}
	if ms, ok, err := num("se.rt.ringAutoAnswer.timeout"); err != nil {
		return CallConfig{}, err
	} else if ok {
		c.AnswerDelay = time.Duration(ms) * time.Millisecond
		if ms == 0 {
			c.AnswerDelay = -1
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"call.offeringTimeOut", &c.OfferingTimeout}, {"call.ringBackTimeOut", &c.RingBackTimeout}} {
		s, ok, err := num(p.name)
		if err != nil {
			return CallConfig{}, err
		}
		if ok {
			*p.dst = time.Duration(s) * time.Second
			if s == 0 {
				*p.dst = 24 * time.Hour // "0 = infinite": bounded so nothing leaks
			}
		}
	}
	for _, n := range []string{"reg.1.callsPerLineKey", "call.callsPerLineKey"} {
		k, ok, err := num(n)
		if err != nil {
			return CallConfig{}, err
		}
		if ok && k > 0 {
			c.MaxCalls = k
			break
		}
	}
	if v, ok := val("call.callWaiting.enable"); ok && v == "0" {
		c.NoCallWaiting = true
	}
	if v, ok := val("voIpProt.SIP.header.diversion.enable"); ok && v == "1" {
		c.ShowDiversion = true
	}
	return c, nil
}

// WithCalls sets the call-handling settings (default: CallConfig{}).
func WithCalls(c CallConfig) Option {
	return func(h *Handset) error { h.calls.cfg, h.calls.cfgSet = c.withDefaults(), true; return nil }
}
