package configs

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on what one file may hold. A phone has little memory; a provisioning
// file larger than this is a mistake, and the cap bounds what a hostile
// boot server can make us allocate (RELIABILITY.md P3).
const (
	MaxFileSize        = 4 << 20 // bytes per .cfg file
	MaxConfigFilesLen  = 2047    // CONFIG_FILES: whole list incl. commas and spaces (Polycom admin guide)
	MaxConfigFileEntry = 255     // CONFIG_FILES: one entry
)

// Attr is one parameter definition found in a .cfg file.
type Attr struct {
	Name  string
	Value string
	Line  int // 1-based line of the attribute name
}

// ParseCfg reads a Polycom application .cfg file: free-form XML in which
// every attribute of every element is a parameter and element names only
// group things for people (USERS.md §A.3 rule 4). It returns the attributes
// in document order. A parameter written twice in one file is a *ParamError
// naming both lines; XML that is not well formed is a *FileError. It does
// not consult the registry.
func ParseCfg(file string, data []byte) ([]Attr, error) {
	var out []Attr
	seen := map[string]int{}
	var errs []error
	err := walkXML(file, data, func(_ string, attrs []Attr) error {
		for _, a := range attrs {
			if first, dup := seen[a.Name]; dup {
				errs = append(errs, &ParamError{File: file, Line: a.Line, Param: a.Name, Value: a.Value,
					Msg: "parameter set twice in one file (first at line " + strconv.Itoa(first) + ")"})
				continue
			}
			seen[a.Name] = a.Line
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	return out, nil
}

// MasterFile is what a <MAC>.cfg or 000000000000.cfg says.
type MasterFile struct {
	ConfigFiles []string // CONFIG_FILES entries, trimmed, in order
	Line        int      // line of the CONFIG_FILES attribute
}

// ParseMaster reads a master configuration file: the APPLICATION element's
// CONFIG_FILES comma list (each entry ≤ 255 characters, the list ≤ 2047
// characters including commas and white space; USERS.md §A.3 rules 1–2).
func ParseMaster(file string, data []byte) (MasterFile, error) {
	var m MasterFile
	found := false
	err := walkXML(file, data, func(elem string, attrs []Attr) error {
		if found || !strings.EqualFold(elem, "APPLICATION") {
			return nil
		}
		found = true
		for _, a := range attrs {
			if a.Name != "CONFIG_FILES" {
				continue
			}
			m.Line = a.Line
			if len(a.Value) > MaxConfigFilesLen {
				return &FileError{File: file, Line: a.Line, Msg: "CONFIG_FILES is " + strconv.Itoa(len(a.Value)) +
					" characters long; the limit is " + strconv.Itoa(MaxConfigFilesLen)}
			}
			for _, e := range strings.Split(a.Value, ",") {
				e = strings.TrimSpace(e)
				if e == "" {
					continue
				}
				if len(e) > MaxConfigFileEntry {
					return &FileError{File: file, Line: a.Line, Msg: "CONFIG_FILES entry " + strconv.Quote(e[:40]+"…") +
						" is " + strconv.Itoa(len(e)) + " characters long; the limit is " + strconv.Itoa(MaxConfigFileEntry)}
				}
				m.ConfigFiles = append(m.ConfigFiles, e)
			}
		}
		return nil
	})
	if err != nil {
		return MasterFile{}, err
	}
	if !found {
		return MasterFile{}, &FileError{File: file, Msg: "no APPLICATION element (not a master configuration file)"}
	}
	return m, nil
}

// walkXML calls fn for every start element with its attributes (namespaced
// attributes such as xmlns:* are skipped) and their lines.
func walkXML(file string, data []byte, fn func(elem string, attrs []Attr) error) error {
	if len(data) > MaxFileSize {
		return &FileError{File: file, Msg: "file is larger than " + strconv.Itoa(MaxFileSize) + " bytes"}
	}
	data, err := toUTF8(data)
	if err != nil {
		return &FileError{File: file, Msg: "bad encoding", Err: err}
	}
	lines := lineStarts(data)
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// The bytes are UTF-8 by now whatever the declaration says.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	roots := 0
	depth := 0
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				line = se.Line
			}
			return &FileError{File: file, Line: line, Msg: "not well-formed XML", Err: xmlErr(err)}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return &FileError{File: file, Line: lineOf(lines, start), Msg: "not well-formed XML: more than one root element"}
				}
			}
			depth++
			end := dec.InputOffset()
			attrs := tagAttrs(data, int(start), int(end), lines, t)
			if err := fn(t.Name.Local, attrs); err != nil {
				return err
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return &FileError{File: file, Line: lineOf(lines, start), Msg: "not well-formed XML: text outside the root element"}
			}
		}
	}
	if roots == 0 {
		return &FileError{File: file, Line: 1, Msg: "not well-formed XML: no root element"}
	}
	return nil
}

// xmlErr strips encoding/xml's "XML syntax error on line N: " prefix since
// FileError already names the line.
func xmlErr(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return errors.New(se.Msg)
	}
	return err
}

// tagAttrs pairs the decoded attributes of a start tag with the raw names
// and lines found by re-scanning the tag bytes data[start:end]. The decoder
// has already checked the tag, so the scan only needs to skip quoted values.
func tagAttrs(data []byte, start, end int, lines []int, t xml.StartElement) []Attr {
	type raw struct {
		name string
		off  int
	}
	var rs []raw
	if start >= 0 && end <= len(data) && start < end {
		tag := data[start:end]
		i := bytes.IndexByte(tag, '<') + 1
		for i < len(tag) && !isSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
			i++
		}
		for i < len(tag) {
			for i < len(tag) && isSpace(tag[i]) {
				i++
			}
			if i >= len(tag) || tag[i] == '>' || tag[i] == '/' {
				break
			}
			ns := i
			for i < len(tag) && !isSpace(tag[i]) && tag[i] != '=' {
				i++
			}
			rs = append(rs, raw{string(tag[ns:i]), start + ns})
			for i < len(tag) && tag[i] != '"' && tag[i] != '\'' {
				i++
			}
			if i >= len(tag) {
				break
			}
			q := tag[i]
			i++
			for i < len(tag) && tag[i] != q {
				i++
			}
			i++
		}
	}
	tagLine := lineOf(lines, int64(start))
	var out []Attr
	for k, a := range t.Attr {
		line, name := tagLine, a.Name.Local
		if len(rs) == len(t.Attr) {
			line, name = lineOf(lines, int64(rs[k].off)), rs[k].name
		}
		if a.Name.Space != "" || strings.Contains(name, ":") || name == "xmlns" {
			continue
		}
		out = append(out, Attr{Name: name, Value: a.Value, Line: line})
	}
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// lineStarts returns the byte offsets at which lines begin.
func lineStarts(data []byte) []int {
	ls := []int{0}
	for i, b := range data {
		if b == '\n' {
			ls = append(ls, i+1)
		}
	}
	return ls
}

// lineOf returns the 1-based line holding byte offset off.
func lineOf(lines []int, off int64) int {
	return sort.Search(len(lines), func(i int) bool { return int64(lines[i]) > off })
}

// toUTF8 strips a UTF-8 byte-order mark and converts UTF-16 (with BOM) to
// UTF-8; files saved by Windows editors arrive in both forms.
func toUTF8(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		be := data[0] == 0xFE
		body := data[2:]
		if len(body)%2 != 0 {
			return nil, errors.New("utf-16 file with an odd number of bytes")
		}
		u := make([]uint16, len(body)/2)
		for i := range u {
			if be {
				u[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
			} else {
				u[i] = uint16(body[2*i+1])<<8 | uint16(body[2*i])
			}
		}
		return []byte(string(utf16.Decode(u))), nil
	}
	if !utf8.Valid(data) {
		// Latin-1 / Windows-1252 files: map bytes to code points.
		rs := make([]rune, len(data))
		for i, b := range data {
			rs[i] = rune(b)
		}
		return []byte(string(rs)), nil
	}
	return data, nil
}
