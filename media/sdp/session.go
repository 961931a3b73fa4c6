package sdp

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Limits on what Parse accepts (RELIABILITY.md P5: 100 m-lines must fail).
const (
	MaxSize  = 64 << 10
	MaxMedia = 16
)

// Session is a parsed or constructed SDP session description.
type Session struct {
	Origin     Origin
	Name       string // s=
	Connection Conn   // session-level c=; zero when absent
	Bandwidth  []string
	Timing     string // t=, "0 0"
	// Extra holds other session-level lines (i=, u=, e=, p=, r=, z=, k=) in order.
	Extra      []Line
	Attributes []Attribute
	Media      []*Media
}

// Origin is the o= line (RFC 4566 §5.2).
type Origin struct {
	Username  string
	SessionID uint64
	Version   uint64
	Conn      Conn
}

// Conn is a c= line or the address part of o=: "IN <AddrType> <Address>".
type Conn struct {
	AddrType string // IP4 or IP6
	Address  string
}

// IsZero reports whether the connection line is absent.
func (c Conn) IsZero() bool { return c.AddrType == "" && c.Address == "" }

func (c Conn) String() string { return "IN " + c.AddrType + " " + c.Address }

// Line is an SDP line kept verbatim.
type Line struct {
	Type  byte
	Value string
}

// Attribute is an a= line: "a=Key" or "a=Key:Value".
type Attribute struct {
	Key   string
	Value string
}

func (a Attribute) String() string {
	if a.Value == "" {
		return a.Key
	}
	return a.Key + ":" + a.Value
}

// Direction is a=sendrecv/sendonly/recvonly/inactive (RFC 3264 §5.1).
type Direction string

// Directions; "" means not written, which RFC 4566 reads as sendrecv.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Effective returns the direction with "" mapped to SendRecv.
func (d Direction) Effective() Direction {
	if d == "" {
		return SendRecv
	}
	return d
}

// Reverse is the answerer's view of an offered direction (RFC 3264 §6.1).
func (d Direction) Reverse() Direction {
	switch d.Effective() {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// Encryption is MS-SDP a=encryption.
type Encryption string

// Encryption levels; "" means not written.
const (
	EncryptionRequired Encryption = "required"
	EncryptionOptional Encryption = "optional"
	EncryptionRejected Encryption = "rejected"
)

// Media is one m= section.
type Media struct {
	Type       string // audio, video, …
	Port       int
	Proto      string   // RTP/AVP, RTP/SAVP, TCP/RTP/AVP, …
	Formats    []string // payload types as written
	Connection Conn
	Bandwidth  []string
	Extra      []Line // i=, k= lines
	Codecs     []Codec
	Crypto     []Crypto
	Direction  Direction
	Encryption Encryption
	RTCPPort   int    // a=rtcp port, 0 when absent
	RTCPAddr   string // rest of a=rtcp after the port ("IN IP4 1.2.3.4"), may be ""
	SSRCRange  [2]uint32
	HasSSRC    bool // a=x-ssrc-range present
	// Attributes holds the remaining a= lines in the order Marshal writes them
	// (candidates first, ice-ufrag/ice-pwd last; protocols.md §10.1).
	Attributes []Attribute
}

// Attribute returns the first media attribute with key, and whether it exists.
func (m *Media) Attribute(key string) (string, bool) {
	for _, a := range m.Attributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// PayloadTypes returns Formats as numbers (for RTP protocols).
func (m *Media) PayloadTypes() []uint8 {
	pts := make([]uint8, 0, len(m.Formats))
	for _, f := range m.Formats {
		if n, err := strconv.ParseUint(f, 10, 8); err == nil && n < 128 {
			pts = append(pts, uint8(n))
		}
	}
	return pts
}

// Codec returns the codec for payload type pt: the a=rtpmap/a=fmtp entry, or
// the RFC 3551 static assignment when there is no rtpmap.
func (m *Media) Codec(pt uint8) (Codec, bool) {
	for _, c := range m.Codecs {
		if c.PT == pt && c.Name != "" {
			return c, true
		}
	}
	c, ok := staticCodec(pt)
	if ok {
		for _, x := range m.Codecs {
			if x.PT == pt {
				c.Fmtp = x.Fmtp
			}
		}
	}
	return c, ok
}

func (m *Media) isRTP() bool { return strings.Contains(m.Proto, "RTP/") }

var knownProtos = []string{
	"RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF", "TCP/RTP/AVP", "TCP/RTP/SAVP",
	"UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF", "udp", "TCP", "TCP/TLS",
}

// attrRank orders generic attributes within a media section as SIPE writes
// them (protocols.md §10.1): candidates, [crypto], remote-candidates,
// [codecs, typed attributes], others, ICE credentials.
func attrRank(key string) int {
	switch key {
	case "candidate":
		return 0
	case "remote-candidates", "remote-candidate":
		return 1
	case "ice-ufrag", "ice-pwd":
		return 3
	}
	return 2
}

func sortAttrs(as []Attribute) {
	slices.SortStableFunc(as, func(a, b Attribute) int { return attrRank(a.Key) - attrRank(b.Key) })
}

// Parse parses an SDP body. Every error is a *ParseError (wrapping a
// *CryptoError for bad a=crypto lines) naming the line.
func Parse(b []byte) (*Session, error) {
	if len(b) > MaxSize {
		return nil, &ParseError{Err: ErrTooLarge}
	}
	p := parser{s: &Session{}}
	lines := bytes.Split(b, []byte("\n"))
	seenV := false
	for i, raw := range lines {
		line := strings.TrimSuffix(string(raw), "\r")
		if line == "" {
			continue
		}
		p.n = i + 1
		p.text = truncate(line)
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return nil, p.fail(fmt.Errorf("%w: want <type>=<value>", ErrSyntax))
		}
		typ, val := line[0], line[2:]
		if !seenV {
			if typ != 'v' || val != "0" {
				return nil, p.fail(fmt.Errorf("%w: first line must be v=0", ErrSyntax))
			}
			seenV = true
			continue
		}
		if err := p.line(typ, val); err != nil {
			return nil, p.fail(err)
		}
	}
	if !seenV {
		return nil, &ParseError{Err: fmt.Errorf("%w: empty body", ErrSyntax)}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.s, nil
}

type parser struct {
	s      *Session
	m      *Media
	n      int
	text   string
	seenO  bool
	seenT  bool
	mStart []int // line number of each m=
}

func (p *parser) fail(err error) error {
	return &ParseError{Line: p.n, Text: redactLine(p.text), Err: err}
}

func (p *parser) line(typ byte, val string) error {
	if p.m != nil {
		return p.mediaLine(typ, val)
	}
	s := p.s
	switch typ {
	case 'v':
		return fmt.Errorf("%w: duplicate v=", ErrSyntax)
	case 'o':
		if p.seenO {
			return fmt.Errorf("%w: duplicate o=", ErrSyntax)
		}
		p.seenO = true
		return parseOrigin(val, &s.Origin)
	case 's':
		s.Name = val
	case 'c':
		if !s.Connection.IsZero() {
			return fmt.Errorf("%w: duplicate c=", ErrSyntax)
		}
		return parseConn(val, &s.Connection)
	case 'b':
		if err := checkBandwidth(val); err != nil {
			return err
		}
		s.Bandwidth = append(s.Bandwidth, val)
	case 't':
		if p.seenT {
			return fmt.Errorf("%w: only one t= is supported", ErrSyntax)
		}
		p.seenT = true
		if len(strings.Fields(val)) != 2 {
			return fmt.Errorf("%w: t= wants start and stop", ErrSyntax)
		}
		s.Timing = val
	case 'i', 'u', 'e', 'p', 'r', 'z', 'k':
		s.Extra = append(s.Extra, Line{Type: typ, Value: val})
	case 'a':
		a := parseAttr(val)
		if a.Key == "" {
			return fmt.Errorf("%w: empty attribute", ErrSyntax)
		}
		s.Attributes = append(s.Attributes, a)
	case 'm':
		return p.startMedia(val)
	default:
		return fmt.Errorf("%w: unknown line type %q", ErrSyntax, typ)
	}
	return nil
}

func parseAttr(v string) Attribute {
	k, val, _ := strings.Cut(v, ":")
	return Attribute{Key: k, Value: val}
}

func checkBandwidth(v string) error {
	t, n, ok := strings.Cut(v, ":")
	if !ok || t == "" {
		return fmt.Errorf("%w: b= wants <type>:<kbps>", ErrSyntax)
	}
	if _, err := strconv.ParseUint(n, 10, 32); err != nil {
		return fmt.Errorf("%w: b= bandwidth %q", ErrSyntax, n)
	}
	return nil
}

func parseOrigin(v string, o *Origin) error {
	f := strings.Split(v, " ")
	if len(f) != 6 {
		return fmt.Errorf("%w: o= wants 6 fields", ErrSyntax)
	}
	id, err1 := strconv.ParseUint(f[1], 10, 64)
	ver, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || f[0] == "" {
		return fmt.Errorf("%w: o= session id and version must be numbers", ErrSyntax)
	}
	o.Username, o.SessionID, o.Version = f[0], id, ver
	return parseConn(strings.Join(f[3:], " "), &o.Conn)
}

func parseConn(v string, c *Conn) error {
	f := strings.Split(v, " ")
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") || f[2] == "" {
		return fmt.Errorf("%w: want \"IN IP4|IP6 <address>\"", ErrSyntax)
	}
	c.AddrType, c.Address = f[1], f[2]
	return nil
}

func (p *parser) startMedia(v string) error {
	if len(p.s.Media) >= MaxMedia {
		return fmt.Errorf("%w: more than %d", ErrTooManyMedia, MaxMedia)
	}
	f := strings.Split(v, " ")
	if len(f) < 4 {
		return fmt.Errorf("%w: m= wants media, port, proto and formats", ErrSyntax)
	}
	m := &Media{Type: f[0], Proto: f[2], Formats: f[3:]}
	if m.Type == "" {
		return fmt.Errorf("%w: empty media type", ErrSyntax)
	}
	portText, _, _ := strings.Cut(f[1], "/") // "port/count" (RFC 4566 §5.14) keeps the base port
	if portText != f[1] {
		return fmt.Errorf("%w: port counts are not supported", ErrBadPort)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBadPort, truncate(f[1]))
	}
	m.Port = int(port)
	if !slices.Contains(knownProtos, m.Proto) {
		return fmt.Errorf("%w: %q", ErrUnknownProto, truncate(m.Proto))
	}
	for _, fm := range m.Formats {
		if fm == "" {
			return fmt.Errorf("%w: empty format (double space?)", ErrSyntax)
		}
		if m.isRTP() {
			if n, err := strconv.ParseUint(fm, 10, 8); err != nil || n > 127 {
				return fmt.Errorf("%w: %q", ErrBadPayloadType, truncate(fm))
			}
		}
	}
	p.s.Media = append(p.s.Media, m)
	p.mStart = append(p.mStart, p.n)
	p.m = m
	return nil
}

func (p *parser) mediaLine(typ byte, val string) error {
	m := p.m
	switch typ {
	case 'm':
		return p.startMedia(val)
	case 'c':
		if !m.Connection.IsZero() {
			return fmt.Errorf("%w: duplicate c= in media", ErrSyntax)
		}
		return parseConn(val, &m.Connection)
	case 'b':
		if err := checkBandwidth(val); err != nil {
			return err
		}
		m.Bandwidth = append(m.Bandwidth, val)
	case 'i', 'k':
		m.Extra = append(m.Extra, Line{Type: typ, Value: val})
	case 'a':
		return p.mediaAttr(parseAttr(val))
	default:
		return fmt.Errorf("%w: line type %q not allowed in media", ErrSyntax, typ)
	}
	return nil
}

func (p *parser) mediaAttr(a Attribute) error {
	m := p.m
	switch a.Key {
	case "":
		return fmt.Errorf("%w: empty attribute", ErrSyntax)
	case "crypto":
		c, err := ParseCrypto(a.Value)
		if err != nil {
			return err
		}
		m.Crypto = append(m.Crypto, c)
	case "rtpmap":
		return parseRtpmap(m, a.Value)
	case "fmtp":
		return parseFmtp(m, a.Value)
	case "sendrecv", "sendonly", "recvonly", "inactive":
		if m.Direction != "" || a.Value != "" {
			return fmt.Errorf("%w: duplicate or valued direction attribute", ErrSyntax)
		}
		m.Direction = Direction(a.Key)
	case "encryption":
		switch e := Encryption(a.Value); e {
		case EncryptionRequired, EncryptionOptional, EncryptionRejected:
			if m.Encryption != "" {
				return fmt.Errorf("%w: duplicate a=encryption", ErrSyntax)
			}
			m.Encryption = e
		default:
			return fmt.Errorf("%w: a=encryption must be required, optional or rejected", ErrSyntax)
		}
	case "rtcp":
		if m.RTCPPort != 0 {
			return fmt.Errorf("%w: duplicate a=rtcp", ErrSyntax)
		}
		ps, rest, _ := strings.Cut(a.Value, " ")
		port, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || port == 0 {
			return fmt.Errorf("%w: a=rtcp port %q", ErrBadPort, truncate(ps))
		}
		if rest != "" {
			var c Conn
			if err := parseConn(rest, &c); err != nil {
				return err
			}
		}
		m.RTCPPort, m.RTCPAddr = int(port), rest
	case "x-ssrc-range":
		lo, hi, ok := strings.Cut(a.Value, "-")
		l, err1 := strconv.ParseUint(lo, 10, 32)
		h, err2 := strconv.ParseUint(hi, 10, 32)
		if !ok || err1 != nil || err2 != nil || l > h || m.HasSSRC {
			return fmt.Errorf("%w: a=x-ssrc-range wants <lo>-<hi>", ErrSyntax)
		}
		m.SSRCRange, m.HasSSRC = [2]uint32{uint32(l), uint32(h)}, true
	case "candidate":
		if err := checkCandidate(a.Value); err != nil {
			return err
		}
		m.Attributes = append(m.Attributes, a)
	default:
		m.Attributes = append(m.Attributes, a)
	}
	return nil
}

// checkCandidate accepts the MS-ICE2/RFC 5245 form
// "<foundation> <component> <transport> <priority> <ip> <port> typ <type> …"
// and the MS-ICE v1 form "<user> <component> <pwd> <transport> <0.prio> <ip> <port>"
// (protocols.md §10.2).
func checkCandidate(v string) error {
	f := strings.Split(v, " ")
	var portField string
	switch {
	case len(f) >= 8 && f[6] == "typ":
		portField = f[5]
		if _, err := strconv.ParseUint(f[3], 10, 32); err != nil {
			return fmt.Errorf("%w: priority %q", ErrBadCandidate, truncate(f[3]))
		}
	case len(f) == 7:
		portField = f[6]
	default:
		return fmt.Errorf("%w: unexpected field count %d", ErrBadCandidate, len(f))
	}
	if c, err := strconv.ParseUint(f[1], 10, 8); err != nil || c == 0 {
		return fmt.Errorf("%w: component %q", ErrBadCandidate, truncate(f[1]))
	}
	if _, err := strconv.ParseUint(portField, 10, 16); err != nil {
		return fmt.Errorf("%w: port %q", ErrBadCandidate, truncate(portField))
	}
	return nil
}

func parseRtpmap(m *Media, v string) error {
	pts, enc, ok := strings.Cut(v, " ")
	pt, err := strconv.ParseUint(pts, 10, 8)
	if !ok || err != nil || pt > 127 {
		return fmt.Errorf("%w: a=rtpmap payload type %q", ErrBadPayloadType, truncate(pts))
	}
	parts := strings.Split(enc, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return fmt.Errorf("%w: a=rtpmap wants <name>/<clock>[/<channels>]", ErrSyntax)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return fmt.Errorf("%w: a=rtpmap clock rate %q", ErrSyntax, truncate(parts[1]))
	}
	ch := 0
	if len(parts) == 3 {
		n, err := strconv.ParseUint(parts[2], 10, 8)
		if err != nil || n == 0 {
			return fmt.Errorf("%w: a=rtpmap channels %q", ErrSyntax, truncate(parts[2]))
		}
		ch = int(n)
	}
	c := codecEntry(m, uint8(pt))
	if c.Name != "" {
		return fmt.Errorf("%w: duplicate a=rtpmap for %d", ErrSyntax, pt)
	}
	c.Name, c.ClockRate, c.Channels = parts[0], int(rate), ch
	return nil
}

func parseFmtp(m *Media, v string) error {
	pts, params, ok := strings.Cut(v, " ")
	pt, err := strconv.ParseUint(pts, 10, 8)
	if !ok || err != nil || pt > 127 || params == "" {
		return fmt.Errorf("%w: a=fmtp wants <pt> <params>", ErrSyntax)
	}
	c := codecEntry(m, uint8(pt))
	if c.Fmtp != "" {
		return fmt.Errorf("%w: duplicate a=fmtp for %d", ErrSyntax, pt)
	}
	c.Fmtp = params
	return nil
}

func codecEntry(m *Media, pt uint8) *Codec {
	for i := range m.Codecs {
		if m.Codecs[i].PT == pt {
			return &m.Codecs[i]
		}
	}
	m.Codecs = append(m.Codecs, Codec{PT: pt})
	return &m.Codecs[len(m.Codecs)-1]
}

func (p *parser) finish() error {
	s := p.s
	if !p.seenO || !p.seenT {
		return &ParseError{Line: p.n, Err: fmt.Errorf("%w: missing o= or t=", ErrSyntax)}
	}
	sessUfrag := hasAttr(s.Attributes, "ice-ufrag") && hasAttr(s.Attributes, "ice-pwd")
	for i, m := range s.Media {
		perr := func(err error) error { return &ParseError{Line: p.mStart[i], Text: "m=" + m.Type, Err: err} }
		if m.Connection.IsZero() && s.Connection.IsZero() {
			return perr(ErrMissingConnection)
		}
		tags := map[uint32]bool{}
		for _, c := range m.Crypto {
			if tags[c.Tag] {
				return perr(fmt.Errorf("%w: %d", ErrDuplicateCryptoTag, c.Tag))
			}
			tags[c.Tag] = true
		}
		// The tag must be unique across a=crypto and a=cryptoscale (MS-SDPEXT).
		for _, a := range m.Attributes {
			if a.Key != "cryptoscale" {
				continue
			}
			ts, _, _ := strings.Cut(a.Value, " ")
			if t, err := strconv.ParseUint(ts, 10, 32); err == nil {
				if tags[uint32(t)] {
					return perr(fmt.Errorf("%w: %d (a=cryptoscale)", ErrDuplicateCryptoTag, t))
				}
				tags[uint32(t)] = true
			}
		}
		ice2 := false
		for _, a := range m.Attributes {
			if a.Key == "candidate" && strings.Contains(a.Value, " typ ") {
				ice2 = true
			}
		}
		if ice2 && !sessUfrag && (!hasAttr(m.Attributes, "ice-ufrag") || !hasAttr(m.Attributes, "ice-pwd")) {
			return perr(ErrMissingICECredentials)
		}
		sortAttrs(m.Attributes)
		// Marshal writes i= before k= (RFC 4566 §5 order); parse into that order.
		slices.SortStableFunc(m.Extra, func(a, b Line) int { return int(a.Type) - int(b.Type) })
	}
	slices.SortStableFunc(s.Extra, func(a, b Line) int { return extraRank(a.Type) - extraRank(b.Type) })
	return nil
}

// extraRank: i/u/e/p go before c=, r/z/k after t= (RFC 4566 §5).
func extraRank(t byte) int {
	if strings.IndexByte("iuep", t) >= 0 {
		return 0
	}
	return 1
}

func hasAttr(as []Attribute, key string) bool {
	for _, a := range as {
		if a.Key == key {
			return true
		}
	}
	return false
}

// Marshal writes the session with CRLF line ends in the SIPE/Lync order
// (protocols.md §10.1).
func (s *Session) Marshal() []byte {
	var b bytes.Buffer
	w := func(typ byte, v string) {
		b.WriteByte(typ)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	w('v', "0")
	o := s.Origin
	w('o', fmt.Sprintf("%s %d %d %s", o.Username, o.SessionID, o.Version, o.Conn))
	w('s', s.Name)
	for _, l := range s.Extra {
		if strings.IndexByte("iuep", l.Type) >= 0 {
			w(l.Type, l.Value)
		}
	}
	if !s.Connection.IsZero() {
		w('c', s.Connection.String())
	}
	for _, bw := range s.Bandwidth {
		w('b', bw)
	}
	w('t', s.Timing)
	for _, l := range s.Extra {
		if strings.IndexByte("rzk", l.Type) >= 0 {
			w(l.Type, l.Value)
		}
	}
	for _, a := range s.Attributes {
		w('a', a.String())
	}
	for _, m := range s.Media {
		m.marshal(w)
	}
	return b.Bytes()
}

func (m *Media) marshal(w func(byte, string)) {
	w('m', fmt.Sprintf("%s %d %s %s", m.Type, m.Port, m.Proto, strings.Join(m.Formats, " ")))
	for _, l := range m.Extra {
		if l.Type == 'i' {
			w(l.Type, l.Value)
		}
	}
	if !m.Connection.IsZero() {
		w('c', m.Connection.String())
	}
	for _, bw := range m.Bandwidth {
		w('b', bw)
	}
	for _, l := range m.Extra {
		if l.Type == 'k' {
			w(l.Type, l.Value)
		}
	}
	attrs := slices.Clone(m.Attributes)
	sortAttrs(attrs)
	i := 0
	for ; i < len(attrs) && attrRank(attrs[i].Key) == 0; i++ {
		w('a', attrs[i].String())
	}
	for _, c := range m.Crypto {
		w('a', "crypto:"+c.Value())
	}
	for ; i < len(attrs) && attrRank(attrs[i].Key) == 1; i++ {
		w('a', attrs[i].String())
	}
	for _, c := range m.Codecs {
		if c.Name != "" {
			w('a', "rtpmap:"+c.rtpmap())
		}
		if c.Fmtp != "" {
			w('a', fmt.Sprintf("fmtp:%d %s", c.PT, c.Fmtp))
		}
	}
	if m.RTCPPort != 0 {
		v := strconv.Itoa(m.RTCPPort)
		if m.RTCPAddr != "" {
			v += " " + m.RTCPAddr
		}
		w('a', "rtcp:"+v)
	}
	if m.Encryption != "" {
		w('a', "encryption:"+string(m.Encryption))
	}
	if m.HasSSRC {
		w('a', fmt.Sprintf("x-ssrc-range:%d-%d", m.SSRCRange[0], m.SSRCRange[1]))
	}
	if m.Direction != "" {
		w('a', string(m.Direction))
	}
	for ; i < len(attrs); i++ {
		w('a', attrs[i].String())
	}
}
