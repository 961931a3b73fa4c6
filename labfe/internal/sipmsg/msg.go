// Package sipmsg is labfe's own minimal SIP message codec (RFC 3261 §7):
// start line, header lines kept verbatim in order, Content-Length framing.
//
// labfe does not use a SIP stack's typed headers on purpose: MS-SIPAE
// signatures cover header values exactly as they appear on the wire
// (MS-SIPAE 3.2.5.2), and Lync Contact headers carry parameters some stacks
// refuse. Keeping the raw text makes the simulator strict and faithful.
package sipmsg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("sipmsg: malformed message")

// MaxMessage bounds a message (headers + body) so a peer cannot make labfe
// buffer without limit.
const MaxMessage = 64 << 10

// Header is one header line; Name keeps its spelling, Value is trimmed.
type Header struct{ Name, Value string }

// Message is a SIP request or response.
type Message struct {
	// Request: Method and RequestURI set. Response: StatusCode and Reason.
	Method, RequestURI string
	StatusCode         int
	Reason             string
	Headers            []Header
	Body               []byte
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return m.Method != "" }

var compact = map[string]string{
	"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
	"c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to", "v": "via",
}

func canon(name string) string {
	n := strings.ToLower(name)
	if long, ok := compact[n]; ok {
		return long
	}
	return n
}

// is reports whether the header name (any case, compact form or not)
// names the canonical (lowercase, long) header c, without allocating: the
// lookups run on every header of every message.
func is(name, c string) bool {
	if len(name) == 1 {
		n := strings.ToLower(name) // one byte: no allocation for ASCII
		if long, ok := compact[n]; ok {
			return long == c
		}
		return n == c
	}
	return strings.EqualFold(name, c)
}

// Get returns the first value of the header name (case-insensitive,
// compact forms understood).
func (m *Message) Get(name string) (string, bool) {
	c := canon(name)
	for _, h := range m.Headers {
		if is(h.Name, c) {
			return h.Value, true
		}
	}
	return "", false
}

// Value is Get without the presence flag.
func (m *Message) Value(name string) string { v, _ := m.Get(name); return v }

// All returns every value of the header name, in order.
func (m *Message) All(name string) []string {
	c := canon(name)
	var out []string
	for _, h := range m.Headers {
		if is(h.Name, c) {
			out = append(out, h.Value)
		}
	}
	return out
}

// Add appends a header.
func (m *Message) Add(name, value string) { m.Headers = append(m.Headers, Header{name, value}) }

// Set replaces all headers called name with one, at the first one's place
// (appended if absent).
func (m *Message) Set(name, value string) {
	c := canon(name)
	out := m.Headers[:0:0]
	done := false
	for _, h := range m.Headers {
		if is(h.Name, c) {
			if !done {
				out = append(out, Header{name, value})
				done = true
			}
			continue
		}
		out = append(out, h)
	}
	if !done {
		out = append(out, Header{name, value})
	}
	m.Headers = out
}

// Del removes all headers called name.
func (m *Message) Del(name string) {
	c := canon(name)
	out := m.Headers[:0:0]
	for _, h := range m.Headers {
		if !is(h.Name, c) {
			out = append(out, h)
		}
	}
	m.Headers = out
}

// Marshal renders m; Content-Length is always rewritten to match Body.
func (m *Message) Marshal() []byte {
	var b bytes.Buffer
	if m.IsRequest() {
		fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", m.Method, m.RequestURI)
	} else {
		fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", m.StatusCode, m.Reason)
	}
	for _, h := range m.Headers {
		if is(h.Name, "content-length") {
			continue
		}
		b.WriteString(h.Name)
		b.WriteString(": ")
		b.WriteString(h.Value)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(m.Body))
	b.Write(m.Body)
	return b.Bytes()
}

// Read reads one message from r. Leading CRLFs (RFC 5626 keep-alives) are
// skipped and counted in keepalives ("\r\n\r\n" is one ping). When only
// keep-alives were available, Read returns (nil, n, nil) at once rather than
// block for the next message, so a caller can account for them. io.EOF is
// returned only when the stream ends between messages.
func Read(r *bufio.Reader) (m *Message, keepalives int, err error) {
	lf := 0
	for {
		if lf > 0 && r.Buffered() == 0 && lf/2 > 0 {
			return nil, lf / 2, nil
		}
		b, perr := r.Peek(1)
		if perr != nil {
			return nil, lf / 2, perr //nolint:wrapcheck // io.EOF must stay bare
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		_, _ = r.Discard(1)
		if b[0] == '\n' {
			lf++
		}
	}
	keepalives = lf / 2
	var head []string
	total := 0
	for {
		line, rerr := r.ReadString('\n')
		total += len(line)
		if total > MaxMessage {
			return nil, keepalives, fmt.Errorf("%w: header section over %d bytes", ErrMalformed, MaxMessage)
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				rerr = io.ErrUnexpectedEOF
			}
			return nil, keepalives, fmt.Errorf("sipmsg: read: %w", rerr)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		head = append(head, line)
	}
	m, err = parseHead(head)
	if err != nil {
		return nil, keepalives, err
	}
	n := 0
	if v, ok := m.Get("Content-Length"); ok {
		n, err = strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > MaxMessage-total {
			return nil, keepalives, fmt.Errorf("%w: bad Content-Length %q", ErrMalformed, v)
		}
	}
	if n > 0 {
		m.Body = make([]byte, n)
		if _, err := io.ReadFull(r, m.Body); err != nil {
			return nil, keepalives, fmt.Errorf("sipmsg: read body: %w", err)
		}
	}
	return m, keepalives, nil
}

// Parse parses one complete message held in b.
func Parse(b []byte) (*Message, error) {
	m, _, err := Read(bufio.NewReader(bytes.NewReader(b)))
	if errors.Is(err, io.EOF) || (err == nil && m == nil) {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	return m, err
}

func parseHead(lines []string) (*Message, error) {
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: no start line", ErrMalformed)
	}
	m := &Message{}
	start := lines[0]
	if rest, ok := strings.CutPrefix(start, "SIP/2.0 "); ok {
		code, reason, _ := strings.Cut(rest, " ")
		c, err := strconv.Atoi(code)
		if err != nil || c < 100 || c > 699 || len(code) != 3 {
			return nil, fmt.Errorf("%w: bad status line %q", ErrMalformed, start)
		}
		m.StatusCode, m.Reason = c, reason
	} else {
		parts := strings.Split(start, " ")
		if len(parts) != 3 || parts[2] != "SIP/2.0" || parts[0] == "" || parts[1] == "" || !isToken(parts[0]) {
			return nil, fmt.Errorf("%w: bad request line %q", ErrMalformed, start)
		}
		m.Method, m.RequestURI = parts[0], parts[1]
	}
	for _, l := range lines[1:] {
		if l[0] == ' ' || l[0] == '\t' { // obsolete line folding (RFC 3261 §7.3.1)
			if len(m.Headers) == 0 {
				return nil, fmt.Errorf("%w: continuation before any header", ErrMalformed)
			}
			h := &m.Headers[len(m.Headers)-1]
			h.Value += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || !isToken(name) {
			return nil, fmt.Errorf("%w: bad header line %q", ErrMalformed, l)
		}
		m.Headers = append(m.Headers, Header{name, strings.TrimSpace(value)})
	}
	for _, need := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		if _, ok := m.Get(need); !ok {
			return nil, fmt.Errorf("%w: missing %s", ErrMalformed, need)
		}
	}
	if _, _, err := m.CSeq(); err != nil {
		return nil, err
	}
	return m, nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// CSeq returns the CSeq number and method.
func (m *Message) CSeq() (uint32, string, error) {
	v := m.Value("CSeq")
	num, method, ok := strings.Cut(strings.TrimSpace(v), " ")
	n, err := strconv.ParseUint(num, 10, 32)
	method = strings.TrimSpace(method)
	if !ok || err != nil || method == "" || !isToken(method) {
		return 0, "", fmt.Errorf("%w: bad CSeq %q", ErrMalformed, v)
	}
	return uint32(n), method, nil
}

// NameAddr splits a From/To/Contact value into the URI (inside <>, or up
// to the first ';' without brackets) and the header parameters after it.
func NameAddr(v string) (uri string, params map[string]string) {
	params = map[string]string{}
	var rest string
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", params
		}
		uri = v[i+1 : i+j]
		rest = v[i+j+1:]
	} else {
		uri, rest, _ = strings.Cut(strings.TrimSpace(v), ";")
		rest = ";" + rest
	}
	for _, p := range splitParams(rest) {
		k, val, _ := strings.Cut(p, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			continue
		}
		params[k] = strings.TrimSpace(val)
	}
	return strings.TrimSpace(uri), params
}

// splitParams splits ";a=b;c="x;y"" on ';' outside quotes.
func splitParams(s string) []string {
	var out []string
	inQ := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQ = !inQ
		case ';':
			if !inQ {
				if i > start {
					out = append(out, s[start:i])
				}
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
