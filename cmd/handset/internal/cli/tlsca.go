package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// clientTLS is the TLS client configuration of the commands that connect to
// a front end: TLS 1.2 or later, trusting the PEM certificates of --ca when
// given (else the system roots). An unreadable file is an EnvError, a file
// with no certificate a UsageError; both name the command and the flag.
func clientTLS(cmd, caFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, &EnvError{fmt.Errorf("%s: --ca: %w", cmd, err)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &UsageError{fmt.Errorf("%s: --ca %s: no PEM certificates", cmd, caFile)}
	}
	tc.RootCAs = pool
	return tc, nil
}
