package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/handset-dev/handset/configs"
	"github.com/handset-dev/handset/labfe/inband"
	"github.com/handset-dev/handset/sipua/dialplan"
	"github.com/handset-dev/handset/sipua/provision"
)

func init() {
	register(&Command{Name: "upload-callserver", Summary: "write MAC-upload-CallServer.cfg with the in-band (Lync server) parameters, as the handset's Upload Configuration > SIP does", Run: runUploadCallServer})
}

// uploadLabel names the in-band layer's source, as a phone's upload does.
const uploadSuffix = "-upload-CallServer.cfg"

// inbandState is what the in-band pipeline yields for one handset.
type inbandState struct {
	mac      string
	user     string
	source   string // where the provisioning XML came from
	settings *provision.Settings
	params   map[string]string
	eff      *configs.Effective // boot config with the in-band layer
}

// loadInband boots the handset's configuration, takes the provisioning
// body from file (a provisionGroupList capture or a labfe/inband data file;
// "" means labfe/inband's default set) and parses it the way the handset
// does. Until sipua fetches it live, this stands in for the SUBSCRIBE.
func loadInband(prov, mac, file string) (*inbandState, error) {
	if prov == "" || mac == "" {
		return nil, &UsageError{errors.New("--prov DIR and --mac MAC are required")}
	}
	m, err := configs.NormalizeMAC(mac)
	if err != nil {
		return nil, &UsageError{err}
	}
	eff, _, err := configs.Boot(os.DirFS(prov), m)
	if err != nil {
		return nil, &UsageError{err}
	}
	st := &inbandState{mac: m, user: eff.String("reg.1.address"), source: "labfe/inband default set"}
	data := inband.DefaultXML()
	if file != "" {
		if data, err = os.ReadFile(file); err != nil {
			return nil, &UsageError{fmt.Errorf("--inband: %w", err)}
		}
		st.source = file
	}
	body, err := inband.Body(data, st.user)
	if err != nil {
		return nil, &UsageError{fmt.Errorf("--inband %s: %w", st.source, err)}
	}
	if st.settings, err = provision.Parse(body); err != nil {
		return nil, &UsageError{fmt.Errorf("--inband %s: %w", st.source, err)}
	}
	st.params = st.settings.Params()
	if st.eff, err = eff.WithLayer(configs.InBand, m+uploadSuffix, st.params); err != nil {
		return nil, &UsageError{fmt.Errorf("in-band values: %w", err)}
	}
	return st, nil
}

func runUploadCallServer(_ context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "upload-callserver")
	prov := fs.String("prov", "", "provisioning directory (the boot server); the file is written here")
	mac := fs.String("mac", "", "handset MAC, e.g. 0004f2000001")
	file := fs.String("inband", "", "provisioning XML: a provisionGroupList body or a labfe in-band data file (default: labfe's default set)")
	if err := fs.Parse(args); err != nil {
		return fail(env, &UsageError{err})
	}
	if fs.NArg() > 0 {
		return fail(env, &UsageError{fmt.Errorf("upload-callserver: unexpected argument %q", fs.Arg(0))})
	}
	st, err := loadInband(*prov, *mac, *file)
	if err != nil {
		return fail(env, err)
	}
	// The phone compiles the plan as it stores it; do the same so that
	// dropped rules are logged (DIALPLANERROR) when the file is written.
	if _, err = dialplan.FromParams(st.params, env.Log); err != nil {
		return fail(env, &UsageError{err})
	}
	out := configs.WriteCfg(st.params)
	// Self-check: what we write must read back as the same parameters.
	attrs, err := configs.ParseCfg(st.mac+uploadSuffix, out)
	if err != nil || len(attrs) != len(st.params) {
		return fail(env, fmt.Errorf("upload-callserver: written file does not parse back: %w", err))
	}
	path := filepath.Join(*prov, st.mac+uploadSuffix)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fail(env, &EnvError{fmt.Errorf("upload-callserver: %w", err)})
	}
	fmt.Fprintf(env.Stdout, "wrote %s: %d in-band parameters for %s (from %s)\n", path, len(st.params), st.user, st.source)
	return ExitOK
}
