package certrenew

import (
	"crypto/tls"
	"errors"
	"sync"
	"testing"
)

func TestStore(t *testing.T) {
	var s Store
	if s.Current() != nil || s.Leaf() != nil {
		t.Fatal("zero Store is not empty")
	}
	if _, err := s.GetClientCertificate(nil); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("empty GetClientCertificate error = %v", err)
	}
	a := newCert(t, t0, t0.Add(hour))
	old, err := s.Swap(a)
	if err != nil || old != nil {
		t.Fatalf("first Swap = %v, %v", old, err)
	}
	if s.Leaf() == nil || !s.Leaf().NotAfter.Equal(t0.Add(hour)) {
		t.Fatalf("Leaf not parsed: %v", s.Leaf())
	}
	if a.Leaf != nil {
		t.Error("Swap modified the caller's certificate")
	}
	b := newCert(t, t0, t0.Add(2*hour))
	old, err = s.Swap(b)
	if err != nil || old == nil || !old.Leaf.NotAfter.Equal(t0.Add(hour)) {
		t.Fatalf("second Swap returned %v, %v", old, err)
	}
	got, err := s.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || got != s.Current() || !got.Leaf.NotAfter.Equal(t0.Add(2*hour)) {
		t.Fatalf("GetClientCertificate = %v, %v", got, err)
	}
	for _, bad := range []*tls.Certificate{nil, {}, {Certificate: [][]byte{{1, 2, 3}}, PrivateKey: a.PrivateKey}, {Certificate: a.Certificate}} {
		if _, err := s.Swap(bad); err == nil {
			t.Errorf("Swap(%v) accepted", bad)
		}
	}
	if s.Current() != got {
		t.Error("a refused Swap changed the current certificate")
	}
}

// TestStoreConcurrent: readers during swaps see a whole certificate, never
// a torn one (run with -race).
func TestStoreConcurrent(t *testing.T) {
	var s Store
	certs := []*tls.Certificate{newCert(t, t0, t0.Add(hour)), newCert(t, t0, t0.Add(2*hour))}
	if _, err := s.Swap(certs[0]); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := s.GetClientCertificate(nil)
				if err != nil || c.Leaf == nil || c.PrivateKey == nil {
					t.Errorf("torn read: %v, %v", c, err)
					return
				}
				if d := c.Leaf.NotAfter.Sub(t0); d != hour && d != 2*hour {
					t.Errorf("unexpected certificate, expires after %v", d)
					return
				}
			}
		})
	}
	for i := range 200 {
		if _, err := s.Swap(certs[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
