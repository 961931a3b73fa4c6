package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// addTemplateSeeds adds every template .cfg file to the corpus.
func addTemplateSeeds(f *testing.F) {
	_ = filepath.WalkDir("templates", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".cfg") {
			if b, rerr := os.ReadFile(p); rerr == nil {
				f.Add(b)
			}
		}
		return nil
	})
}

func typed(err error) bool {
	var fe *FileError
	var pe *ParamError
	var be *BootError
	return errors.As(err, &fe) || errors.As(err, &pe) || errors.As(err, &be)
}

// FuzzParseCfg: arbitrary bytes never panic, errors are typed, and whatever
// parses survives WriteCfg → ParseCfg unchanged (round trip). The same bytes
// booted as site.cfg give a typed error or a configuration whose every
// value passes Validate.
func FuzzParseCfg(f *testing.F) {
	addTemplateSeeds(f)
	f.Add([]byte(`<r a.b="1" a.b="2"/>`))
	f.Add([]byte("\xff\xfe<\x00r\x00/\x00>\x00"))
	f.Add([]byte("\xef\xbb\xbf<r reg.1.label=\"&#xA;&amp;\"/>"))
	f.Add([]byte(`<r><a tcplpApp.ice.mode="MSOCS"/><b sec.srtp.key.lifetime="2^31"/></r>`))
	f.Add([]byte(`<r xmlns:p="u" p:x="1" reg.1.auth.password="pw"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		attrs, err := ParseCfg("f.cfg", data)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		} else {
			m := make(map[string]string, len(attrs))
			for _, a := range attrs {
				if a.Line < 1 {
					t.Fatalf("line %d for %s", a.Line, a.Name)
				}
				m[a.Name] = a.Value
			}
			back, perr := ParseCfg("w.cfg", WriteCfg(m))
			if perr != nil {
				t.Fatalf("WriteCfg output does not parse: %v\n%s", perr, WriteCfg(m))
			}
			got := make(map[string]string, len(back))
			for _, a := range back {
				got[a.Name] = a.Value
			}
			if d := cmp.Diff(m, got); d != "" {
				t.Fatalf("round trip (-in +out):\n%s", d)
			}
		}
		fsys := fstest.MapFS{"000000000000.cfg": master("site.cfg"), "site.cfg": &fstest.MapFile{Data: data}}
		e, _, err := Boot(fsys, mac1)
		if err != nil {
			if !typed(err) {
				t.Fatalf("Boot: untyped error %T: %v", err, err)
			}
			return
		}
		for _, v := range e.Set() {
			if verr := Validate(v.Name, v.Raw); verr != nil {
				t.Fatalf("effective value invalid: %v", verr)
			}
		}
	})
}

// FuzzParseMaster: never panics, errors are typed, entries are trimmed,
// non-empty and within the 255-character limit.
func FuzzParseMaster(f *testing.F) {
	addTemplateSeeds(f)
	f.Add([]byte(`<APPLICATION CONFIG_FILES=" a.cfg ,, b.cfg"/>`))
	f.Add([]byte(`<application CONFIG_FILES="` + strings.Repeat("x,", 1100) + `"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMaster("m.cfg", data)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, e := range m.ConfigFiles {
			if e == "" || e != strings.TrimSpace(e) || len(e) > MaxConfigFileEntry || strings.Contains(e, ",") {
				t.Fatalf("bad entry %q", e)
			}
		}
	})
}
