package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handset-dev/handset/labfe"
)

// `handset labfe --control FILE` reads fault commands, one per line, so a
// user can rehearse what load testers do to a pool (RELIABILITY.md F1, F3,
// F4, F10) while handsets run against it:
//
//	503 [retry-after=30s] [for=60s]   answer sign-ins with 503 (± Retry-After) for a period (default: until clear)
//	blackhole [for=30s]               answer nothing at all
//	kill [fin|rst] [aor=USER@DOMAIN]  close flows (all, or one user's) with FIN or RST
//	restart [down=10s]                drop every flow (RST) and refuse connections for a while
//	resume                            end a restart's down period now
//	clear                             remove the 503 / black hole
//
// Any command may name the pool: pool=backup (with --backup-fqdn) or
// pool=primary (the default). Blank lines and # comments are ignored.
const controlHelp = "503 [retry-after=D] [for=D] | blackhole [for=D] | kill [fin|rst] [aor=A] | restart [down=D] | resume | clear; each with optional pool=primary|backup"

// errControl marks a malformed control line.
var errControl = errors.New("labfe control")

// controlCmd is one parsed control line.
type controlCmd struct {
	verb       string // 503, blackhole, kill, restart, resume, clear
	pool       string // primary or backup
	retryAfter time.Duration
	period     time.Duration // for= of 503/blackhole, down= of restart
	mode       labfe.CloseMode
	aor        string
}

// parseControl parses one control line; ok is false for blank lines and
// comments.
func parseControl(line string) (cmd controlCmd, ok bool, err error) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return controlCmd{}, false, nil
	}
	cmd = controlCmd{verb: strings.ToLower(f[0]), pool: "primary"}
	switch cmd.verb {
	case "503", "blackhole", "kill", "restart", "resume", "clear":
	default:
		return controlCmd{}, false, fmt.Errorf("%w: unknown command %q (commands: %s)", errControl, f[0], controlHelp)
	}
	for _, a := range f[1:] {
		k, v, hasValue := strings.Cut(a, "=")
		k = strings.ToLower(k)
		dur := func() (time.Duration, error) {
			d, perr := time.ParseDuration(v)
			if perr != nil || d < 0 {
				return 0, fmt.Errorf("%w: %s: %q is not a duration such as 30s", errControl, k, v)
			}
			return d, nil
		}
		switch {
		case k == "pool" && hasValue && (v == "primary" || v == "backup"):
			cmd.pool = v
		case k == "retry-after" && hasValue && cmd.verb == "503":
			if cmd.retryAfter, err = dur(); err != nil {
				return controlCmd{}, false, err
			}
		case (k == "for" && (cmd.verb == "503" || cmd.verb == "blackhole")) || (k == "down" && cmd.verb == "restart"):
			if !hasValue {
				return controlCmd{}, false, fmt.Errorf("%w: %s needs a value", errControl, k)
			}
			if cmd.period, err = dur(); err != nil {
				return controlCmd{}, false, err
			}
		case cmd.verb == "kill" && !hasValue && (k == "fin" || k == "rst"):
			cmd.mode, _ = labfe.ParseCloseMode(k)
		case cmd.verb == "kill" && k == "aor" && hasValue && strings.Contains(v, "@"):
			cmd.aor = v
		default:
			return controlCmd{}, false, fmt.Errorf("%w: %s: unexpected %q (commands: %s)", errControl, cmd.verb, a, controlHelp)
		}
	}
	return cmd, true, nil
}

// String renders the command as a control line (parseControl's inverse).
func (c controlCmd) String() string {
	parts := []string{c.verb}
	switch c.verb {
	case "503":
		if c.retryAfter > 0 {
			parts = append(parts, "retry-after="+c.retryAfter.String())
		}
		if c.period > 0 {
			parts = append(parts, "for="+c.period.String())
		}
	case "blackhole":
		if c.period > 0 {
			parts = append(parts, "for="+c.period.String())
		}
	case "restart":
		if c.period > 0 {
			parts = append(parts, "down="+c.period.String())
		}
	case "kill":
		parts = append(parts, c.mode.String())
		if c.aor != "" {
			parts = append(parts, "aor="+c.aor)
		}
	}
	if c.pool != "primary" {
		parts = append(parts, "pool="+c.pool)
	}
	return strings.Join(parts, " ")
}

// apply runs cmd on the pools and says what it did.
func (c controlCmd) apply(pools map[string]*labfe.Server) (string, error) {
	s := pools[c.pool]
	if s == nil {
		return "", fmt.Errorf("%w: no %s pool (start one with --backup-fqdn)", errControl, c.pool)
	}
	switch c.verb {
	case "503":
		s.Reject503(c.retryAfter, c.period)
		return "sign-ins answered 503", nil
	case "blackhole":
		s.BlackHole(c.period)
		return "every request unanswered", nil
	case "kill":
		return fmt.Sprintf("%d flows closed", s.CloseFlowsMode(c.aor, c.mode)), nil
	case "restart":
		return fmt.Sprintf("%d flows dropped", s.Restart(c.period)), nil
	case "resume":
		s.Resume()
		return "accepting connections", nil
	default: // clear
		s.ClearFault()
		return "faults cleared", nil
	}
}

// runControl reads control lines from r until EOF or ctx ends and applies
// them, reporting each on out. Reading blocks in r: the caller owns r and
// closes it (or the process ends) to stop the reader.
func runControl(ctx context.Context, r io.Reader, out io.Writer, pools map[string]*labfe.Server) {
	lines := make(chan string)
	go func() { // stops at EOF or a read error of r, which the caller owns
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case l, ok := <-lines:
			if !ok {
				return
			}
			cmd, ok, err := parseControl(l)
			if err == nil && ok {
				var what string
				if what, err = cmd.apply(pools); err == nil {
					fmt.Fprintf(out, "labfe: control: %s: %s\n", cmd, what)
				}
			}
			if err != nil {
				fmt.Fprintf(out, "labfe: control: %v\n", err)
			}
		}
	}
}
