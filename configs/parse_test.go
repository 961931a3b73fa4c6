package configs

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

func TestParseCfg(t *testing.T) {
	in := `<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<!-- comment with reg.1.address="not a param" -->
<customizations>
    <device
            device.set="1"
            device.baseProfile="Lync" />
    <tcpIpApp tcpIpApp.ice.mode="MSOCS" />
    <softkey softkey.feature.redial="1" /><softkey softkey.feature.simplifiedSignIn="1" />
    <a><b><c reg.1.address='x="y" reg.1.label="z"' reg.1.label="tricky &amp; &lt;"/></b></a>
    <x xmlns:foo="urn:x" foo:bar="1" reg.1.displayName="multi
line"/>
</customizations>`
	got, err := ParseCfg("site.cfg", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Attr{
		{"device.set", "1", 5},
		{"device.baseProfile", "Lync", 6},
		{"tcpIpApp.ice.mode", "MSOCS", 7},
		{"softkey.feature.redial", "1", 8},
		{"softkey.feature.simplifiedSignIn", "1", 8},
		{"reg.1.address", `x="y" reg.1.label="z"`, 9},
		{"reg.1.label", "tricky & <", 9},
		{"reg.1.displayName", "multi\nline", 10},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseCfg (-want +got):\n%s", d)
	}
}

func TestParseCfgDuplicates(t *testing.T) {
	in := "<r>\n<a reg.1.address=\"a\"/>\n<b reg.1.address=\"b\"/>\n<c x.y=\"1\" x.y=\"2\"/></r>"
	_, err := ParseCfg("dup.cfg", []byte(in))
	var pe *ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want *ParamError", err)
	}
	msg := err.Error()
	for _, want := range []string{`dup.cfg:3: reg.1.address="b": parameter set twice in one file (first at line 2)`, `dup.cfg:4: x.y="2"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestParseCfgEncodings(t *testing.T) {
	body := "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<r>\r\n<a reg.1.label=\"caf\u00e9\"/>\r\n</r>\r\n"
	u := utf16.Encode([]rune(body))
	le := []byte{0xFF, 0xFE}
	be := []byte{0xFE, 0xFF}
	for _, c := range u {
		le = append(le, byte(c), byte(c>>8))
		be = append(be, byte(c>>8), byte(c))
	}
	latin1 := []byte("<r>\n<a reg.1.label=\"caf\xe9\"/></r>")
	for name, data := range map[string][]byte{
		"utf8-bom": append([]byte{0xEF, 0xBB, 0xBF}, []byte(strings.Replace(body, "UTF-16", "UTF-8", 1))...),
		"utf16le":  le,
		"utf16be":  be,
		"latin1":   latin1,
	} {
		got, err := ParseCfg(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != 1 || got[0].Value != "café" || (got[0].Line != 3 && name != "latin1") {
			t.Errorf("%s: got %+v", name, got)
		}
	}
}

func TestParseCfgBad(t *testing.T) {
	tests := map[string]struct {
		in, want string
	}{
		"not xml":       {"reg.1.address=alice", "bad.cfg:1: not well-formed XML"},
		"truncated":     {"<r>\n<a x=\"1\"", "bad.cfg:2: not well-formed XML"},
		"seed typo":     {"<LyncSignIn\n  reg.1.auth.useLoginCredentials=\"0\"\n  reg.1.auth.usePinCredentials=\"0\"\n</LyncSignIn>", "bad.cfg:4: not well-formed XML"},
		"unclosed":      {"<r><a></r>", "not well-formed XML"},
		"two roots":     {"<r/>\n<s/>", "bad.cfg:2: not well-formed XML: more than one root element"},
		"empty":         {"", "no root element"},
		"text outside":  {"<r/>junk", "text outside the root element"},
		"dup attr elem": {"<r a.b=\"1\" a.b=\"1\"/>", "parameter set twice"},
		"odd utf16":     {"\xff\xfe<\x00r", "bad encoding"},
		"bad entity":    {"<r a.b=\"&nope;\"/>", "not well-formed XML"},
		"too big":       {"<r>" + strings.Repeat(" ", MaxFileSize) + "</r>", "larger than"},
	}
	for name, tt := range tests {
		_, err := ParseCfg("bad.cfg", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", name, err, tt.want)
		}
		var fe *FileError
		var pe *ParamError
		if !errors.As(err, &fe) && !errors.As(err, &pe) {
			t.Errorf("%s: untyped error %T", name, err)
		}
	}
}

func TestParseMaster(t *testing.T) {
	in := "<?xml version=\"1.0\" standalone=\"yes\"?>\n<APPLICATION APP_FILE_PATH=\"\"\n  CONFIG_FILES=\" a.cfg ,b.cfg,, [PHONE_MAC_ADDRESS]-ext.cfg \"/>"
	m, err := ParseMaster("000000000000.cfg", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(MasterFile{ConfigFiles: []string{"a.cfg", "b.cfg", "[PHONE_MAC_ADDRESS]-ext.cfg"}, Line: 3}, m); d != "" {
		t.Error(d)
	}
	long := strings.Repeat("a", 256) + ".cfg"
	list := strings.Repeat("abcdefgh.cfg, ", 150)
	for name, tt := range map[string]struct{ in, want string }{
		"entry 255": {`<APPLICATION CONFIG_FILES="` + long + `"/>`, "is 260 characters long; the limit is 255"},
		"list 2047": {`<APPLICATION CONFIG_FILES="` + list + `"/>`, "CONFIG_FILES is 2100 characters long; the limit is 2047"},
		"no APP":    {`<customizations a.b="1"/>`, "no APPLICATION element"},
		"bad xml":   {`<APPLICATION CONFIG_FILES="a.cfg">`, "not well-formed XML"},
	} {
		_, err := ParseMaster("m.cfg", []byte(tt.in))
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want FileError with %q", name, err, tt.want)
		}
	}
	// Exactly at the limits is fine.
	ok := strings.Repeat("a", 251) + ".cfg"
	if _, err := ParseMaster("m.cfg", []byte(`<APPLICATION CONFIG_FILES="`+ok+`"/>`)); err != nil {
		t.Errorf("255-character entry rejected: %v", err)
	}
}

func TestWriteCfgRoundTrip(t *testing.T) {
	m := map[string]string{
		"reg.1.address":       "alice@contoso.test",
		"reg.1.displayName":   "A & B <\"quoted\"> 'x'\ttab\nnewline\r",
		"dialplan.1.digitmap": "[2-9]11|0T|+011xxx.T",
		"empty.value":         "",
	}
	attrs, err := ParseCfg("w.cfg", WriteCfg(m))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range attrs {
		got[a.Name] = a.Value
	}
	if d := cmp.Diff(m, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}
