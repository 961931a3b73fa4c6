package configs

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrNoBootFile is wrapped by the BootError returned when neither <MAC>.cfg
// nor 000000000000.cfg exists.
var ErrNoBootFile = errors.New("configs: no master file")

// location renders "file:line", "file" or "" for messages.
func location(file string, line int) string {
	switch {
	case file == "":
		return ""
	case line <= 0:
		return file
	default:
		return file + ":" + strconv.Itoa(line)
	}
}

// ParamError is a bad parameter: a value outside its permitted set, a
// duplicate definition, an OCR/case near miss, or a sign-in rule broken.
// It names the file and line, the parameter, the bad value and what is
// permitted (STYLE.md rule 5; RELIABILITY.md P7). Value is "[redacted]" for
// secret parameters.
type ParamError struct {
	File      string // "site.cfg", "--set", "users.csv:7"…; "" when not from a file
	Line      int    // 1-based; 0 when not known
	Param     string
	Value     string
	Permitted string // e.g. "DNSnaptr|TCPpreferred|UDPOnly|TLS|TCPOnly"
	Msg       string // extra explanation; may be empty
}

// Error renders `site.cfg:42: reg.1.server.1.transport="UDP": permitted: DNSnaptr|…`.
func (e *ParamError) Error() string {
	s := ""
	if loc := location(e.File, e.Line); loc != "" {
		s = loc + ": "
	}
	s += e.Param + "=" + strconv.Quote(e.Value) + ": "
	if e.Msg != "" {
		s += e.Msg
		if e.Permitted != "" {
			s += "; "
		}
	}
	if e.Permitted != "" {
		s += "permitted: " + e.Permitted
	}
	return s
}

// FileError is a file that cannot be used: missing, unreadable, too large, not
// well-formed XML, or a master file whose CONFIG_FILES breaks the limits.
type FileError struct {
	File string // the file at fault (for a missing entry: the missing name)
	Line int    // 1-based line in File (or in the master file for CONFIG_FILES); 0 if unknown
	Msg  string // what is wrong, lowercase
	Err  error  // underlying error, may be nil
}

func (e *FileError) Error() string {
	s := "configs: "
	if loc := location(e.File, e.Line); loc != "" {
		s += loc + ": "
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }

// BootError is a problem with the boot itself (bad MAC, no master file).
type BootError struct {
	MAC string
	Msg string
	Err error
}

func (e *BootError) Error() string {
	s := "configs: boot " + strconv.Quote(e.MAC) + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *BootError) Unwrap() error { return e.Err }

// Warning is something the handset would tolerate but a user likely did not
// mean: an unknown parameter (with the nearest known name), a device.*
// parameter ignored for want of device.set, an auto sign-in line without
// credentials.
type Warning struct {
	File  string
	Line  int
	Param string
	Msg   string
}

func (w Warning) String() string {
	s := ""
	if loc := location(w.File, w.Line); loc != "" {
		s = loc + ": "
	}
	if w.Param != "" {
		s += w.Param + ": "
	}
	return s + w.Msg
}

// errorf builds a plain package error.
func errorf(format string, args ...any) error {
	return fmt.Errorf("configs: "+format, args...)
}
