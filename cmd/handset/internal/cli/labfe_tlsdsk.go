package cli

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/handset-dev/handset/labfe"
)

// TLS-DSK and the web services of `handset labfe` (labfe/tlsdsk.go).
type labfeDSKOptions struct {
	on, only     bool
	certLifetime time.Duration
	maxPIN       int
}

func addLabfeDSKFlags(fs *flag.FlagSet, o *labfeDSKOptions) {
	fs.BoolVar(&o.on, "tls-dsk", false, "offer TLS-DSK next to NTLM and serve the HTTPS web services (web ticket by NTLM or extension+PIN, certificate provisioning)")
	fs.BoolVar(&o.only, "tls-dsk-only", false, "offer TLS-DSK alone (implies --tls-dsk)")
	fs.DurationVar(&o.certLifetime, "cert-lifetime", 8*time.Hour, "lifetime of the user certificates issued (with --tls-dsk)")
	fs.IntVar(&o.maxPIN, "max-pin-failures", 5, "wrong PINs before an extension is locked (with --tls-dsk)")
}

func (o *labfeDSKOptions) apply(c *labfe.Config) {
	c.TLSDSK, c.TLSDSKOnly = o.on || o.only, o.only
	c.CertLifetime, c.MaxPINFailures = o.certLifetime, o.maxPIN
}

// print tells where the web services are and how a PIN handset signs in.
func (o *labfeDSKOptions) print(w io.Writer, srv *labfe.Server, prov, mac, caFile string) {
	if srv.STSURI() == "" {
		return
	}
	fmt.Fprintf(w, "labfe: TLS-DSK offered; web services (sts-uri) %s, user certificates valid %s\n", srv.STSURI(), o.certLifetime)
	fmt.Fprintf(w, "sign in with extension and PIN (PIN from $HANDSET_PIN):\n  handset register --prov %s --mac %s --target %s --ca %s --extension EXT --cert-file cert.pem --key-file key.pem --once\n",
		prov, mac, srv.Addr(), caFile)
}
