package configs

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// MasterFileName is the fallback master file every phone reads when no
// <MAC>.cfg exists.
const MasterFileName = "000000000000.cfg"

// BootOption adjusts Boot and FromValues.
type BootOption func(*bootOptions)

type bootOptions struct {
	sets      []kv
	overrides []overrideLayer
}

type kv struct{ name, value string }

type overrideLayer struct {
	values map[string]string
	label  string
}

// WithSet sets one parameter at the highest precedence (--set name=value).
// It is validated like a file value; an unknown name is an error.
func WithSet(name, value string) BootOption {
	return func(o *bootOptions) { o.sets = append(o.sets, kv{name, value}) }
}

// WithOverrides adds one override row (a users.csv row, label
// "users.csv:7"), above the files and below in-band and --set. The users.csv
// columns "extension" and "pin" mean reg.1.auth.extension and reg.1.auth.pin;
// "mac" is ignored (it selects the handset, it is not a parameter).
func WithOverrides(values map[string]string, label string) BootOption {
	return func(o *bootOptions) { o.overrides = append(o.overrides, overrideLayer{values, label}) }
}

// csvAliases maps users.csv column names that are not parameters.
var csvAliases = map[string]string{
	"extension": "reg.1.auth.extension",
	"pin":       "reg.1.auth.pin",
	"mac":       "",
}

// NormalizeMAC returns mac as 12 lowercase hex digits; ':' '-' and '.'
// separators are accepted.
func NormalizeMAC(mac string) (string, error) {
	m := strings.NewReplacer(":", "", "-", "", ".", "").Replace(strings.TrimSpace(mac))
	if len(m) != 12 {
		return "", &BootError{MAC: mac, Msg: "a MAC is 12 hex digits"}
	}
	for i := range len(m) {
		if !isHex(m[i]) {
			return "", &BootError{MAC: mac, Msg: "a MAC is 12 hex digits"}
		}
	}
	return strings.ToLower(m), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Boot reads the boot chain for mac from fsys (usually os.DirFS(dir)), as a
// Spectralink 84-Series handset does (USERS.md §A.3):
//
//  1. the master file <MAC>.cfg (lower or upper case hex) else 000000000000.cfg;
//  2. its APPLICATION CONFIG_FILES list, left to right; "[PHONE_MAC_ADDRESS]"
//     in an entry is replaced by the MAC; the first file that sets a
//     parameter wins;
//  3. device.* parameters only with device.set="1" and their own .set="1";
//  4. device.baseProfile="Lync" overlays the Lync base profile under the files;
//  5. override rows, then --set, on top (see the package comment).
//
// Every value is validated against the registry. Errors are *FileError,
// *ParamError or *BootError, several joined with errors.Join; warnings
// (unknown parameters, ignored device.* values) are returned either way.
func Boot(fsys fs.FS, mac string, opts ...BootOption) (*Effective, []Warning, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return nil, nil, err
	}
	b := &booter{mac: m}
	for _, o := range opts {
		o(&b.opts)
	}
	master, data, err := readMaster(fsys, m)
	if err != nil {
		return nil, nil, err
	}
	mf, err := ParseMaster(master, data)
	if err != nil {
		return nil, nil, err
	}
	if len(mf.ConfigFiles) == 0 {
		b.warn(Warning{File: master, Line: mf.Line, Msg: "CONFIG_FILES is empty: only defaults apply"})
	}
	seen := map[string]bool{}
	for _, entry := range mf.ConfigFiles {
		name := replaceFold(entry, "[PHONE_MAC_ADDRESS]", m)
		if seen[name] {
			b.warn(Warning{File: master, Line: mf.Line, Msg: "CONFIG_FILES lists " + strconv.Quote(name) + " twice; the second is ignored"})
			continue
		}
		seen[name] = true
		b.loadFile(fsys, master, mf.Line, name)
	}
	b.applyDeviceRule()
	b.addOverrides()
	b.addSets()
	if err := joinErrs(b.errs); err != nil {
		return nil, b.warns, err
	}
	return b.finish()
}

// FromValues builds an Effective from parameter values alone, for handsets
// generated without provisioning files (a users.csv row, a test). The values
// form the override layer (label "values"); the Lync base profile applies
// unless values set device.baseProfile to Generic.
func FromValues(mac string, values map[string]string, opts ...BootOption) (*Effective, []Warning, error) {
	m, err := NormalizeMAC(mac)
	if err != nil {
		return nil, nil, err
	}
	b := &booter{mac: m}
	b.defs = append(b.defs, def{name: "device.baseProfile", raw: "Lync", src: Source{Kind: File, File: "FromValues"}})
	b.opts.overrides = append(b.opts.overrides, overrideLayer{values, "values"})
	for _, o := range opts {
		o(&b.opts)
	}
	b.addOverrides()
	b.addSets()
	if err := joinErrs(b.errs); err != nil {
		return nil, b.warns, err
	}
	return b.finish()
}

type booter struct {
	mac   string
	opts  bootOptions
	defs  []def
	order int
	errs  []error
	warns []Warning
}

func (b *booter) warn(w Warning) { b.warns = append(b.warns, w) }

func (b *booter) finish() (*Effective, []Warning, error) {
	e := &Effective{mac: b.mac, defs: b.defs}
	e.compute()
	if err := joinErrs(e.signInRules(b)); err != nil {
		return nil, b.warns, err
	}
	return e, b.warns, nil
}

// readMaster finds <MAC>.cfg (either case) or 000000000000.cfg.
func readMaster(fsys fs.FS, mac string) (string, []byte, error) {
	for _, n := range []string{mac + ".cfg", strings.ToUpper(mac) + ".cfg", MasterFileName} {
		data, err := readCapped(fsys, n)
		if err == nil {
			return n, data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, &FileError{File: n, Msg: "cannot read master file", Err: err}
		}
	}
	return "", nil, &BootError{MAC: mac, Msg: "neither " + mac + ".cfg nor " + MasterFileName + " exists", Err: ErrNoBootFile}
}

// readCapped reads a file of at most MaxFileSize bytes.
func readCapped(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, &FileError{File: name, Msg: "file is larger than " + strconv.Itoa(MaxFileSize) + " bytes"}
	}
	return data, nil
}

// loadFile reads one CONFIG_FILES entry and adds its parameters.
func (b *booter) loadFile(fsys fs.FS, master string, masterLine int, name string) {
	if strings.Contains(name, "://") {
		b.errs = append(b.errs, &FileError{File: master, Line: masterLine,
			Msg: "CONFIG_FILES entry " + strconv.Quote(name) + ": URLs are not supported; use a file next to the master file"})
		return
	}
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if !fs.ValidPath(clean) {
		b.errs = append(b.errs, &FileError{File: master, Line: masterLine,
			Msg: "CONFIG_FILES entry " + strconv.Quote(name) + ": not a relative path inside the provisioning directory"})
		return
	}
	data, err := readCapped(fsys, clean)
	if err != nil {
		var fe *FileError
		switch {
		case errors.As(err, &fe):
			b.errs = append(b.errs, fe)
		case errors.Is(err, fs.ErrNotExist):
			b.errs = append(b.errs, &FileError{File: master, Line: masterLine,
				Msg: "CONFIG_FILES entry " + strconv.Quote(name) + " not found"})
		default:
			b.errs = append(b.errs, &FileError{File: name, Msg: "cannot read", Err: err})
		}
		return
	}
	attrs, err := ParseCfg(name, data)
	if err != nil {
		b.errs = append(b.errs, err)
		var fe *FileError
		if errors.As(err, &fe) {
			return
		}
	}
	for _, a := range attrs {
		if !b.accept(a.Name, a.Value, name, a.Line, false) {
			continue
		}
		b.order++
		b.defs = append(b.defs, def{name: a.Name, raw: a.Value, src: Source{Kind: File, File: name, Line: a.Line}, order: b.order})
	}
}

// accept validates one definition. Unknown names are a warning with the
// nearest known name, or an error when strict (--set) or when the name is an
// OCR/case slip of a known parameter (USERS.md §A.3 rule 9).
func (b *booter) accept(name, value, file string, line int, strict bool) bool {
	p, ok := LookupParam(name)
	if !ok {
		if _, near := nearMiss(name); near || strict {
			b.errs = append(b.errs, withLoc(unknownParamError(name, value), file, line))
			return false
		}
		msg := "unknown parameter, ignored"
		if s := Suggest(name); s != "" {
			msg += "; nearest known: " + s
		}
		b.warn(Warning{File: file, Line: line, Param: name, Msg: msg})
		return false
	}
	if err := p.check(name, value); err != nil {
		b.errs = append(b.errs, withLoc(err, file, line))
		return false
	}
	return true
}

// applyDeviceRule drops device.* file values that lack device.set="1" or
// their own .set="1" (USERS.md §A.3 rule 5), first file winning for the
// switches too.
func (b *booter) applyDeviceRule() {
	on := func(n string) bool {
		w, ok := winner(b.defs, n)
		return ok && w.raw == "1"
	}
	master := on("device.set")
	kept := b.defs[:0]
	for _, d := range b.defs {
		if d.src.Kind == File && strings.HasPrefix(d.name, "device.") && d.name != "device.set" && !strings.HasSuffix(d.name, ".set") {
			if !master || !on(d.name+".set") {
				b.warn(Warning{File: d.src.File, Line: d.src.Line, Param: d.name,
					Msg: "ignored: device.* parameters apply only with device.set=\"1\" and " + d.name + ".set=\"1\""})
				continue
			}
		}
		kept = append(kept, d)
	}
	b.defs = kept
}

func (b *booter) addOverrides() {
	for _, ov := range b.opts.overrides {
		file, line := splitLabel(ov.label)
		for i, n := range sortedKeys(ov.values) {
			v := ov.values[n]
			name := n
			if a, ok := csvAliases[strings.ToLower(strings.TrimSpace(n))]; ok {
				if a == "" {
					continue
				}
				name = a
			}
			if !b.accept(name, v, ov.label, 0, false) {
				continue
			}
			b.defs = append(b.defs, def{name: name, raw: v, src: Source{Kind: Override, File: file, Line: line}, order: i})
		}
	}
}

func (b *booter) addSets() {
	for i, s := range b.opts.sets {
		if !b.accept(s.name, s.value, "--set", 0, true) {
			continue
		}
		// A later --set of the same name replaces an earlier one.
		b.defs = append(b.defs, def{name: s.name, raw: s.value, src: Source{Kind: Set}, order: -i})
	}
}

// signInRules applies the seed's sign-in rules ("Signing into Lync") to
// every registration line: credentials written in a provisioning file mean
// automatic sign-in, which is allowed only when both
// reg.x.auth.useLoginCredentials and reg.x.auth.usePinCredentials are 0;
// automatic sign-in is not available with PIN authentication.
func (e *Effective) signInRules(b *booter) []error {
	lines := map[string]bool{}
	for n := range e.vals {
		if rest, ok := strings.CutPrefix(n, "reg."); ok {
			if x, _, ok := strings.Cut(rest, "."); ok && isIndex(x) {
				lines[x] = true
			}
		}
	}
	var errs []error
	for _, x := range sortedKeys(boolMap(lines)) {
		pre := "reg." + x + ".auth."
		login, pin := e.String(pre+"useLoginCredentials"), e.String(pre+"usePinCredentials")
		flags := pre + "useLoginCredentials=" + strconv.Quote(login) + " (" + e.src(pre+"useLoginCredentials") + "), " +
			pre + "usePinCredentials=" + strconv.Quote(pin) + " (" + e.src(pre+"usePinCredentials") + ")"
		for _, cred := range []string{"password", "userId"} {
			v, ok := e.vals[pre+cred]
			if !ok || v.Source.Kind != File || v.Raw == "" {
				continue
			}
			if login != "0" || pin != "0" {
				shown := v.Raw
				if cred == "password" {
					shown = redacted
				}
				errs = append(errs, &ParamError{File: v.Source.File, Line: v.Source.Line, Param: v.Name, Value: shown,
					Permitted: pre + "useLoginCredentials=\"0\" and " + pre + "usePinCredentials=\"0\"",
					Msg:       "automatic sign-in (credentials in a provisioning file) is allowed only when both sign-in menus are off; now " + flags})
				break
			}
		}
		if v, ok := e.vals[pre+"pin"]; ok && v.Source.Kind == File && v.Raw != "" && pin != "1" {
			errs = append(errs, &ParamError{File: v.Source.File, Line: v.Source.Line, Param: v.Name, Value: redacted,
				Permitted: pre + "usePinCredentials=\"1\"",
				Msg:       "PIN sign-in needs the PIN & Ext. menu; automatic sign-in is not available with PIN authentication; now " + flags})
		}
		if b != nil && login == "0" && pin == "0" && e.String(pre+"password") == "" {
			b.warn(Warning{Param: "reg." + x + ".auth", Msg: "both sign-in menus are off and no credentials are configured: line " + x + " cannot sign in"})
		}
	}
	return errs
}

// src names where a value came from, for messages.
func (e *Effective) src(name string) string {
	v, _ := e.Lookup(name)
	return v.Source.String()
}

func boolMap(m map[string]bool) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return out
}

// replaceFold replaces old in s ignoring ASCII case.
func replaceFold(s, old, repl string) string {
	i := strings.Index(strings.ToUpper(s), strings.ToUpper(old))
	if i < 0 {
		return s
	}
	return s[:i] + repl + replaceFold(s[i+len(old):], old, repl)
}

// withLoc fills in the file and line of a *ParamError from Validate.
func withLoc(err error, file string, line int) error {
	var pe *ParamError
	if errors.As(err, &pe) {
		c := *pe
		c.File, c.Line = file, line
		return &c
	}
	return err
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
