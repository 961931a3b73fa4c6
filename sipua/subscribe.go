package sipua

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/sipua/provision"
)

// Self-subscriptions after sign-in (protocols.md §7.1, §7.4): once
// registered on a flow, the handset SUBSCRIBEs to its own AOR for
// vnd-microsoft-provisioning-v2 (a one-shot fetch, Expires: 0, answered in
// the 200 OK or a NOTIFY/BENOTIFY), vnd-microsoft-roaming-contacts and
// vnd-microsoft-roaming-self (long-lived, refreshed in their dialog before
// they expire). The provisioning body becomes the "in-band" configs layer.
//
// No goroutine waits while idle: the work runs in a short-lived goroutine
// started after registration and from a time.AfterFunc refresh timer, each
// registered with Close through enter().

// DefaultSubscribeExpires is the lifetime asked for the long-lived
// self-subscriptions; the server's Expires wins. TimeScale shortens it.
const DefaultSubscribeExpires = 3600 * time.Second

// subscribeRetry is how long after a failed self-subscription the next
// attempt is made (TimeScale shortens it).
const subscribeRetry = 60 * time.Second

// inBandLabel is the configs layer label: `config show --explain` prints
// such values as "in-band".
const inBandLabel = "in-band"

// WithSelfSubscriptions turns the self-subscriptions on (true) or off. Off
// by default, so that a bare sign-in stays three REGISTERs; the CLI and the
// load runner turn it on to behave like the phone.
func WithSelfSubscriptions(on bool) Option {
	return func(h *Handset) error { h.subs.enabled = on; return nil }
}

// InBand is the in-band provisioning a handset received (protocols.md §7.2).
type InBand struct {
	Settings *provision.Settings
	// Params are the values under the handset's parameter names
	// (provision.Settings.Params): the content of the configs "in-band"
	// layer and of MAC-upload-CallServer.cfg.
	Params   map[string]string
	Received time.Time
	Via      string // the message that carried it: "200 OK", "NOTIFY" or "BENOTIFY"
}

// Apply returns eff with the in-band layer added (configs.InBand, label
// "in-band"); parameters the registry does not model are ignored.
func (ib *InBand) Apply(eff *configs.Effective) (*configs.Effective, error) {
	out, err := eff.WithLayer(configs.InBand, inBandLabel, ib.Params)
	if err != nil {
		return nil, fmt.Errorf("sipua: in-band layer: %w", err)
	}
	return out, nil
}

// InBand returns the last in-band provisioning received, nil before any.
func (h *Handset) InBand() *InBand {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs.inband == nil {
		return nil
	}
	c := *h.subs.inband
	c.Params = maps.Clone(c.Params)
	return &c
}

// WaitInBand blocks until in-band provisioning has arrived (or ctx ends).
func (h *Handset) WaitInBand(ctx context.Context) (*InBand, error) {
	if h.cfg.standard() {
		return nil, ErrNoInBand // nothing will come: no self-subscriptions
	}
	err := h.waitUntil(ctx, func() (*chan struct{}, bool) { return &h.subs.changed, h.subs.inband != nil })
	if errors.Is(err, ErrClosed) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sipua: waiting for in-band provisioning: %w", err)
	}
	return h.InBand(), nil
}

// waitUntil blocks until cond holds, ctx ends (ctx.Err()) or the handset
// closes (ErrClosed). cond runs under h.mu and returns the condition and
// the channel its writer closes on a change; waitUntil creates that
// channel when it is nil, so writers only close it when set.
func (h *Handset) waitUntil(ctx context.Context, cond func() (*chan struct{}, bool)) error {
	for {
		h.mu.Lock()
		chp, ok := cond()
		if *chp == nil {
			*chp = make(chan struct{})
		}
		ch := *chp
		h.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-h.closing:
			return ErrClosed
		}
	}
}

// subscriptions is the self-subscription state of a Handset, guarded by h.mu.
type subscriptions struct {
	enabled bool
	conn    *connection // the flow the current set lives on
	gen     uint64      // bumped per flow; stale work compares and quits
	dialogs map[string]*subDialog
	failed  map[string]bool // events whose last attempt failed
	refresh *time.Timer
	inband  *InBand
	changed chan struct{} // closed when inband changes
}

// subDialog is one established subscription dialog (RFC 6665 §4.1.2).
type subDialog struct {
	sub     provision.Subscription
	callID  string
	fromTag string
	toTag   string
	cseq    uint32
	expires time.Duration
	at      time.Time
}

// afterRegistered is the hook registered() calls: on a new flow (first
// sign-in, reconnect, 301) the previous subscriptions died with their flow,
// so the whole set is made again; a re-REGISTER on the same flow keeps them.
func (h *Handset) afterRegistered() {
	h.mu.Lock()
	c := h.conn
	// A standard registrar (specialInterop=standard) has no Lync
	// provisioning or roaming services to subscribe to.
	if !h.subs.enabled || c == nil || h.sa == nil || h.subs.conn == c || h.cfg.standard() {
		h.mu.Unlock()
		return
	}
	h.subs.conn = c
	h.subs.gen++
	gen := h.subs.gen
	if h.subs.refresh != nil {
		h.subs.refresh.Stop()
		h.subs.refresh = nil
	}
	h.subs.dialogs = map[string]*subDialog{}
	h.subs.failed = map[string]bool{}
	h.mu.Unlock()
	h.spawn(func() {
		for _, s := range provision.SelfSubscriptions() {
			if !h.subCurrent(c, gen) {
				return
			}
			h.subscribe(c, gen, s, nil)
		}
		h.scheduleRefresh(c, gen)
	})
}

// spawn runs fn in a goroutine that Close waits for; nothing runs once
// the handset is closed.
func (h *Handset) spawn(fn func()) {
	if h.enter() != nil {
		return
	}
	go func() {
		defer h.runWG.Done()
		fn()
	}()
}

func (h *Handset) subCurrent(c *connection, gen uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subs.gen == gen && h.conn == c && !h.closed
}

// subscribe sends one SUBSCRIBE (initial when d is nil, else a refresh in
// d's dialog) and records the outcome.
func (h *Handset) subscribe(c *connection, gen uint64, s provision.Subscription, d *subDialog) {
	h.mu.Lock()
	sa := h.sa
	gruu := h.reg.gruu
	h.mu.Unlock()
	if sa == nil {
		return
	}
	if d == nil {
		d = &subDialog{sub: s, callID: h.randHex(16), fromTag: h.randHex(5)}
	} else {
		cp := *d
		d = &cp
	}
	d.cseq++
	expires := h.cfg.scale(DefaultSubscribeExpires)
	if s.Event == provision.Event {
		expires = 0 // §7.1: a one-shot fetch; SubscribeHeaders carries Expires: 0
	}
	req := h.newSubscribe(c, d, gruu, expires)
	start := time.Now()
	if _, err := h.sign(req, sa, ""); err != nil {
		h.subFailed(c, gen, s.Event, 0, err)
		return
	}
	res, err := h.roundTrip(context.Background(), c, req, sa)
	if err != nil {
		h.subFailed(c, gen, s.Event, 0, err)
		return
	}
	switch {
	case res.StatusCode == sip.StatusCallTransactionDoesNotExists && d.toTag != "":
		// The server forgot the dialog (RFC 6665 §4.1.2.2): start afresh.
		h.subscribe(c, gen, s, nil)
		return
	case res.StatusCode < 200 || res.StatusCode >= 300:
		h.subFailed(c, gen, s.Event, res.StatusCode, statusError("subscribe "+s.Event, "SUBSCRIBE", res))
		return
	}
	if to := res.To(); to != nil {
		d.toTag, _ = to.Params.Get("tag")
	}
	d.at, d.expires = time.Now(), expires
	if hs := res.GetHeaders("Expires"); len(hs) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(hs[0].Value())); err == nil && n >= 0 {
			d.expires = time.Duration(min(n, 86400)) * time.Second
		}
	}
	h.mu.Lock()
	if h.subs.gen == gen {
		delete(h.subs.failed, s.Event)
		if d.expires > 0 {
			h.subs.dialogs[s.Event] = d
		} else {
			delete(h.subs.dialogs, s.Event)
		}
	}
	h.mu.Unlock()
	h.emit(Event{Kind: EventSubscribed, Reason: s.Event, Status: res.StatusCode, Latency: time.Since(start)})
	if s.Event == provision.Event && len(res.Body()) > 0 {
		h.takeProvisioning(res.Body(), contentType(res), "200 OK")
	}
}

func (h *Handset) subFailed(c *connection, gen uint64, event string, status int, err error) {
	h.mu.Lock()
	current := h.subs.gen == gen && h.conn == c
	if current {
		h.subs.failed[event] = true
		delete(h.subs.dialogs, event)
	}
	h.mu.Unlock()
	if !current || h.isClosed() {
		return // the flow is gone: the next registration subscribes again
	}
	o, why := Classify(err)
	h.log.Warn("self-subscription failed", "event", event, "status", status, "outcome", o, "reason", why, "err", err)
	h.emit(Event{Kind: EventSubscribed, Reason: event, Status: status, Outcome: o, Err: err})
}

// scheduleRefresh arms the one refresh timer of the handset: at the
// earliest dialog's expiry less the re-REGISTER margin, or after
// subscribeRetry when an attempt failed.
func (h *Handset) scheduleRefresh(c *connection, gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs.gen != gen || h.closed {
		return
	}
	var next time.Time
	for _, d := range h.subs.dialogs {
		at := d.at.Add(d.expires - reRegisterMargin(h.cfg.scale(h.cfg.ReRegisterOverlap), d.expires))
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if len(h.subs.failed) > 0 {
		if at := time.Now().Add(h.cfg.scale(subscribeRetry)); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if next.IsZero() {
		return
	}
	if h.subs.refresh != nil {
		h.subs.refresh.Stop()
	}
	h.subs.refresh = time.AfterFunc(time.Until(next), func() {
		h.spawn(func() { h.refreshDue(c, gen) })
	})
}

// refreshDue refreshes the dialogs close to expiry and retries the failed
// subscriptions, then re-arms the timer.
func (h *Handset) refreshDue(c *connection, gen uint64) {
	if !h.subCurrent(c, gen) {
		return
	}
	now := time.Now()
	type job struct {
		s provision.Subscription
		d *subDialog
	}
	var jobs []job
	h.mu.Lock()
	for _, s := range provision.SelfSubscriptions() {
		if d := h.subs.dialogs[s.Event]; d != nil {
			if !now.Before(d.at.Add(d.expires - reRegisterMargin(h.cfg.scale(h.cfg.ReRegisterOverlap), d.expires))) {
				jobs = append(jobs, job{s, d})
			}
		} else if h.subs.failed[s.Event] {
			jobs = append(jobs, job{s, nil})
		}
	}
	h.mu.Unlock()
	for _, j := range jobs {
		if !h.subCurrent(c, gen) {
			return
		}
		h.subscribe(c, gen, j.s, j.d)
	}
	h.scheduleRefresh(c, gen)
}

// newSubscribe builds a SUBSCRIBE to our own AOR in dialog d.
func (h *Handset) newSubscribe(c *connection, d *subDialog, gruu string, expires time.Duration) *sip.Request {
	user, domain := h.cfg.aorParts()
	aor := sip.Uri{Scheme: "sip", User: user, Host: domain}
	req := sip.NewRequest(sip.SUBSCRIBE, aor)
	lhost, lport := splitHostPortInt(c.local)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: lhost, Port: lport, Params: sip.NewParams()}
	via.Params.Add("branch", "z9hG4bK"+h.randHex(8))
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", d.fromTag)
	from.Params.Add("epid", h.epid)
	to := &sip.ToHeader{Address: aor, Params: sip.NewParams()}
	if d.toTag != "" {
		to.Params.Add("tag", d.toTag)
	}
	callID := sip.CallIDHeader(d.callID)
	maxfwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(&maxfwd)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: sip.SUBSCRIBE})
	// The GRUU is the Contact of everything after REGISTER (§1.4); before
	// a GRUU exists, the registered Contact.
	if gruu != "" {
		req.AppendHeader(sip.NewHeader("Contact", "<"+gruu+">"))
	} else {
		req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s;transport=tls;ms-opaque=%s>;+sip.instance=\"<urn:uuid:%s>\"", c.local, h.opaqueTok, h.instance)))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", h.cfg.UserAgent))
	hasExpires := false
	for _, hd := range d.sub.Headers {
		if strings.EqualFold(hd.Name, "Expires") {
			hasExpires = true
		}
		req.AppendHeader(sip.NewHeader(hd.Name, hd.Value))
	}
	if !hasExpires {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	}
	req.SetTransport("TLS")
	req.SetDestination(c.dest)
	if d.sub.Body != nil {
		req.SetBody(d.sub.Body)
	}
	return req
}

// onNotify takes a verified NOTIFY/BENOTIFY (the hook in installHandlers):
// a provisioning-v2 body becomes the in-band layer; a terminated roaming
// subscription is made again (RFC 6665 §4.1.3).
func (h *Handset) onNotify(req *sip.Request) {
	h.mu.Lock()
	enabled := h.subs.enabled
	h.mu.Unlock()
	if !enabled {
		return
	}
	ev := ""
	if hs := req.GetHeaders("Event"); len(hs) > 0 {
		ev, _, _ = strings.Cut(strings.TrimSpace(hs[0].Value()), ";")
		ev = strings.TrimSpace(ev)
	}
	if strings.EqualFold(ev, provision.Event) {
		if len(req.Body()) > 0 {
			h.takeProvisioning(req.Body(), contentType(req), string(req.Method))
		}
		return
	}
	state := ""
	if hs := req.GetHeaders("Subscription-State"); len(hs) > 0 {
		state, _, _ = strings.Cut(strings.TrimSpace(hs[0].Value()), ";")
	}
	if !strings.EqualFold(strings.TrimSpace(state), "terminated") {
		return
	}
	h.mu.Lock()
	c, gen := h.subs.conn, h.subs.gen
	var sub *provision.Subscription
	for _, s := range provision.SelfSubscriptions() {
		if strings.EqualFold(s.Event, ev) {
			if d := h.subs.dialogs[s.Event]; d != nil && req.CallID() != nil && d.callID == req.CallID().Value() {
				delete(h.subs.dialogs, s.Event)
				sub = &s
			}
		}
	}
	h.mu.Unlock()
	if sub != nil && c != nil {
		s := *sub
		h.spawn(func() {
			h.subscribe(c, gen, s, nil)
			h.scheduleRefresh(c, gen)
		})
	}
}

// takeProvisioning parses a provisioning body and publishes it.
func (h *Handset) takeProvisioning(body []byte, ctype, via string) {
	if ctype != "" && !strings.EqualFold(ctype, provision.ContentType) {
		h.log.Warn("ignoring provisioning body of unexpected type", "content-type", ctype, "via", via)
		return
	}
	st, err := provision.Parse(body)
	if err != nil {
		h.log.Warn("in-band provisioning body rejected", "via", via, "err", err)
		h.emit(Event{Kind: EventInBand, Outcome: OutcomeServerError, Reason: "bad provisioning body", Err: &Error{Op: "in-band provisioning", Class: OutcomeServerError, Why: "bad provisioning body", Err: err}})
		return
	}
	ib := &InBand{Settings: st, Params: h.addRelayParams(st.Params()), Received: h.now(), Via: via}
	h.mu.Lock()
	h.subs.inband = ib
	if h.subs.changed != nil {
		close(h.subs.changed)
	}
	h.subs.changed = make(chan struct{})
	h.mu.Unlock()
	h.log.Info("in-band provisioning received", "via", via, "params", len(ib.Params))
	h.emit(Event{Kind: EventInBand, Outcome: OutcomeSuccess, Reason: via})
	h.startMRAS()
}

func contentType(m sip.Message) string {
	hs := m.GetHeaders("Content-Type")
	if len(hs) == 0 {
		return ""
	}
	v, _, _ := strings.Cut(hs[0].Value(), ";")
	return strings.TrimSpace(v)
}
