package configs

import (
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

// SourceKind says which layer a value came from. Higher kinds take
// precedence (see the package comment).
type SourceKind uint8

// Layers, lowest precedence first.
const (
	Default     SourceKind = iota // registry default
	BaseProfile                   // device.baseProfile (Appendix A)
	File                          // a CONFIG_FILES entry; first file wins
	Override                      // a users.csv row or FromValues values
	InBand                        // in-band provisioning from the server
	Set                           // --set on the command line
)

// Source is where one definition of a parameter came from.
type Source struct {
	Kind SourceKind
	File string // file name, profile name ("Lync"), or label ("users.csv")
	Line int    // 1-based, 0 when not applicable
}

// String renders "default", "base profile Lync", "site.cfg:42",
// "users.csv:7", "in-band" or "--set".
func (s Source) String() string {
	switch s.Kind {
	case Default:
		return "default"
	case BaseProfile:
		return "base profile " + s.File
	case InBand:
		if s.File == "" || s.File == "in-band" {
			return "in-band"
		}
		return "in-band " + location(s.File, s.Line)
	case Set:
		return "--set"
	default:
		return location(s.File, s.Line)
	}
}

// Value is the effective value of one parameter, where it came from and the
// definitions it shadowed (lower-precedence layers and later files), in
// precedence order.
type Value struct {
	Name, Raw string
	Source    Source
	Shadowed  []Source
}

// IsSecret reports whether the value is a password or PIN.
func (v Value) IsSecret() bool {
	p, ok := LookupParam(v.Name)
	return ok && p.Secret
}

// Display is Raw, or "[redacted]" for a non-empty secret.
func (v Value) Display() string {
	if v.IsSecret() && v.Raw != "" {
		return redacted
	}
	return v.Raw
}

// String renders `name="value" (source)`, secrets redacted.
func (v Value) String() string {
	return v.Name + "=" + strconv.Quote(v.Display()) + " (" + v.Source.String() + ")"
}

// GoString keeps %#v from printing Raw.
func (v Value) GoString() string { return "configs.Value{" + v.String() + "}" }

// LogValue implements slog.LogValuer with secrets redacted.
func (v Value) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", v.Name), slog.String("value", v.Display()), slog.String("source", v.Source.String()))
}

// MarshalJSON emits {"name","value","source","shadowed"} with secrets redacted.
func (v Value) MarshalJSON() ([]byte, error) {
	sh := make([]string, len(v.Shadowed))
	for i, s := range v.Shadowed {
		sh[i] = s.String()
	}
	return json.Marshal(struct {
		Name     string   `json:"name"`
		Value    string   `json:"value"`
		Source   string   `json:"source"`
		Shadowed []string `json:"shadowed,omitempty"`
	}{v.Name, v.Display(), v.Source.String(), sh})
}

// def is one definition of a parameter in one layer.
type def struct {
	name, raw string
	src       Source
	order     int // position within its layer (file order, then line)
}

// Effective is the effective configuration of one handset, immutable after
// Boot: it is safe for concurrent use.
type Effective struct {
	mac     string
	defs    []def // every accepted definition except the base profile's
	profile string
	vals    map[string]Value
}

// MAC returns the handset's MAC, 12 lowercase hex digits.
func (e *Effective) MAC() string { return e.mac }

// BaseProfileName returns the active base profile ("Lync" or "Generic").
func (e *Effective) BaseProfileName() string {
	if e.profile == "" {
		return "Generic"
	}
	return e.profile
}

// Lookup returns the effective value of name: the winning definition, or the
// registry default (Source.Kind Default) when nothing set it. ok is false for
// an unset parameter with a Null default or an unknown name.
func (e *Effective) Lookup(name string) (Value, bool) {
	if v, ok := e.vals[name]; ok {
		return v, true
	}
	p, ok := LookupParam(name)
	if !ok || p.Default == "" {
		return Value{}, false
	}
	return Value{Name: name, Raw: p.Default, Source: Source{Kind: Default}}, true
}

// String returns the effective value, "" if unset with no default.
func (e *Effective) String(name string) string {
	v, _ := e.Lookup(name)
	return v.Raw
}

// Int returns the effective value as an integer (values are validated at
// Boot; sec.srtp.key.lifetime's 2^N is expanded); 0 if unset or not numeric.
func (e *Effective) Int(name string) int {
	s := e.String(name)
	if p, ok := LookupParam(name); ok && p.Kind == KindLifetime {
		n, err := ParseLifetime(s)
		if err != nil {
			return 0
		}
		return int(n)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}

// Bool reports whether the value is "1" or "true".
func (e *Effective) Bool(name string) bool {
	s := strings.TrimSpace(e.String(name))
	return s == "1" || strings.EqualFold(s, "true")
}

// Secret returns the value wrapped as a Secret.
func (e *Effective) Secret(name string) Secret { return NewSecret(e.String(name)) }

// All returns every effective value sorted by name: everything set by a
// layer, plus the registry defaults of unset parameters (indexed patterns
// instantiated for line 1 / server 1).
func (e *Effective) All() []Value {
	out := make([]Value, 0, len(e.vals)+len(params))
	for _, v := range e.vals {
		out = append(out, v)
	}
	for _, p := range params {
		if p.Default == "" {
			continue
		}
		n := instantiate(p.Pattern, nil)
		if _, set := e.vals[n]; set {
			continue
		}
		out = append(out, Value{Name: n, Raw: p.Default, Source: Source{Kind: Default}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Set returns only the values some layer set (no registry defaults), sorted.
func (e *Effective) Set() []Value {
	out := make([]Value, 0, len(e.vals))
	for _, v := range e.vals {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup adapts e to a (value, set) function such as sipua.Lookup; it
// includes registry defaults.
func (e *Effective) LookupFunc() func(name string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := e.Lookup(name)
		return v.Raw, ok
	}
}

// WithLayer returns a copy of e with values added at the precedence of kind
// (normally InBand; label names the source, e.g. "MAC-upload-CallServer.cfg").
// Values are validated; unknown parameter names are an error except for
// InBand, where the server may send parameters the registry does not model
// and they are ignored.
func (e *Effective) WithLayer(kind SourceKind, label string, values map[string]string) (*Effective, error) {
	file, line := splitLabel(label)
	names := sortedKeys(values)
	var errs []error
	defs := append([]def(nil), e.defs...)
	for i, n := range names {
		v := values[n]
		if _, ok := LookupParam(n); !ok && kind == InBand {
			continue
		}
		if err := Validate(n, v); err != nil {
			errs = append(errs, withLoc(err, label, 0))
			continue
		}
		defs = append(defs, def{name: n, raw: v, src: Source{Kind: kind, File: file, Line: line}, order: i})
	}
	if err := joinErrs(errs); err != nil {
		return nil, err
	}
	ne := &Effective{mac: e.mac, defs: defs}
	ne.compute()
	if err := joinErrs(ne.signInRules(nil)); err != nil {
		return nil, err
	}
	return ne, nil
}

// compute resolves every name to its winning definition: the highest layer
// wins; inside the file layer the first file (and first line) wins.
func (e *Effective) compute() {
	all := append([]def(nil), e.defs...)
	// The base profile follows the winning device.baseProfile of the other
	// layers; its values join at BaseProfile precedence.
	e.profile = ""
	if w, ok := winner(all, "device.baseProfile"); ok {
		e.profile = w.raw
	}
	for i, kv := range lyncBaseProfileIf(e.profile) {
		all = append(all, def{name: kv.name, raw: kv.value, src: Source{Kind: BaseProfile, File: e.profile}, order: i})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].src.Kind != all[j].src.Kind {
			return all[i].src.Kind > all[j].src.Kind
		}
		return all[i].order < all[j].order
	})
	e.vals = make(map[string]Value, len(all))
	for _, d := range all {
		v, ok := e.vals[d.name]
		if !ok {
			e.vals[d.name] = Value{Name: d.name, Raw: d.raw, Source: d.src}
			continue
		}
		v.Shadowed = append(v.Shadowed, d.src)
		e.vals[d.name] = v
	}
}

func lyncBaseProfileIf(name string) []struct{ name, value string } {
	if name != "Lync" {
		return nil
	}
	return lyncBaseProfile
}

// winner returns the highest-precedence definition of name among defs.
func winner(defs []def, name string) (def, bool) {
	var best def
	found := false
	for _, d := range defs {
		if d.name != name {
			continue
		}
		if !found || d.src.Kind > best.src.Kind || (d.src.Kind == best.src.Kind && d.order < best.order) {
			best, found = d, true
		}
	}
	return best, found
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// splitLabel turns "users.csv:7" into ("users.csv", 7).
func splitLabel(label string) (string, int) {
	if i := strings.LastIndexByte(label, ':'); i > 0 {
		if n, err := strconv.Atoi(label[i+1:]); err == nil && n > 0 {
			return label[:i], n
		}
	}
	return label, 0
}
