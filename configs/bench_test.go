package configs

import (
	"os"
	"testing"
)

// BenchmarkBoot: one handset of the flat template from disk (the load runner
// boots one Effective per handset).
func BenchmarkBoot(b *testing.B) {
	fsys := os.DirFS("templates/flat")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Boot(fsys, mac1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromValues: a generated handset from one users.csv row.
func BenchmarkFromValues(b *testing.B) {
	row := map[string]string{"reg.1.address": "alice@contoso.test", "reg.1.auth.userId": "alice", "reg.1.auth.domain": "CONTOSO",
		"reg.1.auth.password": "Passw0rd!", "reg.1.server.1.address": "pool.contoso.test"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := FromValues(mac1, row); err != nil {
			b.Fatal(err)
		}
	}
}
