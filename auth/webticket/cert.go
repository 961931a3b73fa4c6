package webticket

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// PortCert is the web ticket port authenticated by the user certificate the
// handset already holds. Like PortPIN it is this project's own choice
// (protocols.md §6.4-§6.5 do not say how a PIN handset, which has no PIN any
// more, gets the ticket its renewal needs); labfe/websvc serves it at
// <webticket>/WebTicketService.svc/Cert.
const PortCert = "WebTicketServiceCert"

// Cert authenticates with the current user certificate as the TLS client
// certificate of the HTTPS connection (certificate renewal, protocols.md
// §6.5). Client must present it (its transport's TLS config returns the
// certificate from GetClientCertificate); the RST claims SIPURI.
type Cert struct {
	SIPURI string
	Client *http.Client
}

// Port implements Credential.
func (c *Cert) Port() string { return PortCert }

// Prepare implements Credential: the SIP URI claim.
func (c *Cert) Prepare(rst *RST) { rst.SIPURI = c.SIPURI }

// Do implements Credential: a plain POST over the certificate-authenticated
// connection (HTTPS only).
func (c *Cert) Do(ctx context.Context, hc *http.Client, u string, body []byte) (*http.Response, error) {
	if !strings.HasPrefix(u, "https://") {
		return nil, fmt.Errorf("%w: certificate port %q is not https", errConfig, u)
	}
	if c.Client != nil {
		hc = c.Client
	}
	return post(ctx, hc, u, body, "")
}
