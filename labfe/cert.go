package labfe

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// testPKI is a generated CA and a server certificate signed by it.
type testPKI struct {
	caPEM   []byte
	certPEM []byte
	keyPEM  []byte
	// The CA itself, kept so that TLS-DSK (tlsdsk.go) can issue its RSA
	// server certificate and user certificates under the same trust root.
	caCert *x509.Certificate
	caKey  crypto.Signer
}

// serial is a random positive 62-bit certificate serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

// serverLeaf is the template of labfe's server certificates (SIP/TLS and
// the RSA one for TLS-DSK): fqdn, localhost, 127.0.0.1 and ::1, valid from
// now-1h for 30 days, server authentication.
func serverLeaf(fqdn string, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: fqdn},
		DNSNames:     []string{fqdn, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

// generatePKI makes a throw-away CA ("labfe test CA") and a server
// certificate for fqdn, localhost, 127.0.0.1 and ::1, valid from now-1h for
// 30 days. Keys come from crypto/rand: they are never part of a golden file.
func generatePKI(fqdn string, now time.Time, rsaKey bool) (*testPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("labfe: ca key: %w", err)
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "labfe test CA", Organization: []string{"handset labfe"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("labfe: ca certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("labfe: ca certificate: %w", err)
	}
	var key crypto.Signer
	if rsaKey {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("labfe: server key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, serverLeaf(fqdn, now), caCert, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("labfe: server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("labfe: server key: %w", err)
	}
	return &testPKI{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		caCert:  caCert,
		caKey:   caKey,
	}, nil
}

func tlsConfig(certPEM, keyPEM []byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: server certificate: %w", ErrConfig, err)
	}
	// Lync 2013 speaks TLS 1.2 (protocols.md §15); allow 1.2 and up.
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
