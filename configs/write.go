package configs

import (
	"bytes"
	"encoding/xml"
	"sort"
)

// WriteCfg renders values as a Polycom application .cfg file: an XML
// declaration, a polycomConfig root and one element holding every parameter
// as an attribute, sorted by name (the shape of MAC-upload-CallServer.cfg).
// ParseCfg(WriteCfg(m)) yields m again for any map whose keys are XML names.
func WriteCfg(values map[string]string) []byte {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n")
	b.WriteString("<!-- written by handset -->\n<polycomConfig>\n  <params")
	for _, n := range names {
		b.WriteString("\n    ")
		b.WriteString(n)
		b.WriteString("=\"")
		escapeAttr(&b, values[n])
		b.WriteString("\"")
	}
	b.WriteString(" />\n</polycomConfig>\n")
	return b.Bytes()
}

// escapeAttr escapes an attribute value; xml.EscapeText covers & < > " ' and
// writes tab, newline and carriage return as character references so they
// survive attribute-value normalisation.
func escapeAttr(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
