package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/sipua"
	"github.com/handset-dev/handset/sipua/dialplan"
)

// inBandWait bounds how long `register --show-config/--upload-callserver`
// waits for the in-band provisioning after sign-in.
const inBandWait = 15 * time.Second

// liveInBand runs after a successful sign-in of `handset register` with
// --show-config and/or --upload-callserver: it waits for the in-band
// provisioning the server sent in answer to the self-SUBSCRIBE, then prints
// the effective configuration with the in-band layer (`config show
// --explain`, in-band values marked "in-band") and/or writes
// MAC-upload-CallServer.cfg from the live values, as the phone's upload does.
func liveInBand(ctx context.Context, env *Env, h *sipua.Handset, o *registerOptions, pr *tracePrinter) int {
	wctx, cancel := context.WithTimeout(ctx, inBandWait)
	defer cancel()
	ib, err := h.WaitInBand(wctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "handset: no in-band provisioning within %s: %v\n", inBandWait, err)
		return ExitRunFailed
	}
	mac, err := configs.NormalizeMAC(o.mac)
	if err != nil {
		return fail(env, &UsageError{err})
	}
	if o.showConfig {
		eff, _, berr := configs.Boot(os.DirFS(o.prov), mac)
		if berr != nil {
			return fail(env, &UsageError{berr})
		}
		eff, err = ib.Apply(eff)
		if err != nil {
			return fail(env, fmt.Errorf("register: %w", err))
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "effective configuration of %s with the in-band layer (%d parameters from the server's %s):\n", mac, len(ib.Params), ib.Via)
		writeEffective(&b, eff, true)
		pr.printf("%s", b.String())
	}
	if o.upload {
		// The phone compiles the plan as it stores it: log dropped rules
		// (DIALPLANERROR) as upload-callserver does.
		if _, err := dialplan.FromParams(ib.Params, env.Log); err != nil {
			return fail(env, &UsageError{err})
		}
		out := configs.WriteCfg(ib.Params)
		attrs, perr := configs.ParseCfg(mac+uploadSuffix, out)
		if perr != nil || len(attrs) != len(ib.Params) {
			return fail(env, fmt.Errorf("register: written file does not parse back: %w", perr))
		}
		path := filepath.Join(o.prov, mac+uploadSuffix)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return fail(env, &EnvError{fmt.Errorf("register: --upload-callserver: %w", err)})
		}
		pr.printf("wrote %s: %d in-band parameters received from the server\n", path, len(ib.Params))
	}
	return ExitOK
}
