package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func certCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCertScheduleEightHoursAllFail(t *testing.T) {
	code, out, errs := certCLI(t, "cert", "schedule", "--lifetime", "8h", "--now", "2026-01-01T00:00:00Z", "--fail", "-1")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	want := `certificate  not before 2026-01-01T00:00:00Z
             not after  2026-01-01T08:00:00Z  (lifetime 8h0m0s)
schedule     first attempt 2h0m0s before expiry = min(1/4 lifetime, 30d); after failures 10m0s, 20m0s … 1h0m0s, then every 1h0m0s
from         2026-01-01T00:00:00Z, every attempt failing

attempt  at                    before expiry  outcome
1        2026-01-01T06:00:00Z  2h0m0s         failed, next in 10m0s
2        2026-01-01T06:10:00Z  1h50m0s        failed, next in 20m0s
3        2026-01-01T06:30:00Z  1h30m0s        failed, next in 30m0s
4        2026-01-01T07:00:00Z  1h0m0s         failed, next in 40m0s
5        2026-01-01T07:40:00Z  20m0s          failed, no attempt left

certificate expires at 2026-01-01T08:00:00Z with renewal failing since 2026-01-01T06:00:00Z (5 attempts); registration with TLS-DSK fails from then on
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

func TestCertScheduleOneYear(t *testing.T) {
	code, out, errs := certCLI(t, "cert", "schedule", "--not-before", "2026-01-01T00:00:00Z", "--not-after", "2027-01-01T00:00:00Z", "--fail", "2")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, line := range []string{
		"(lifetime 365d)",
		"first attempt 30d before expiry",
		"1        2026-12-02T00:00:00Z  30d            failed, next in 10m0s",
		"2        2026-12-02T00:10:00Z  29d23h50m0s    failed, next in 20m0s",
		"3        2026-12-02T00:30:00Z  29d23h30m0s    renewed",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "renewal failing since") {
		t.Errorf("a renewed plan reports failure:\n%s", out)
	}
}

func TestCertScheduleScaledAndExpired(t *testing.T) {
	_, out, _ := certCLI(t, "cert", "schedule", "--lifetime", "8h", "--now", "2026-01-01T00:00:00Z", "--fail", "1", "--time-scale", "60")
	if !strings.Contains(out, "after failures 10s, 20s … 1m0s") || !strings.Contains(out, "2026-01-01T06:00:10Z") {
		t.Errorf("scaled schedule:\n%s", out)
	}
	code, out, _ := certCLI(t, "cert", "schedule", "--not-before", "2026-01-01T00:00:00Z", "--lifetime", "1h", "--now", "2026-01-02T00:00:00Z")
	if code != ExitOK || !strings.Contains(out, "no attempt: the certificate has expired") {
		t.Errorf("expired certificate: exit %d\n%s", code, out)
	}
}

func TestCertScheduleUsage(t *testing.T) {
	for _, args := range [][]string{
		{"cert"},
		{"cert", "renew"},
		{"cert", "schedule"},
		{"cert", "schedule", "--lifetime", "0s"},
		{"cert", "schedule", "--not-after", "tomorrow"},
		{"cert", "schedule", "--lifetime", "8h", "--not-after", "2027-01-01T00:00:00Z"},
		{"cert", "schedule", "--not-before", "2027-01-01T00:00:00Z", "--not-after", "2026-01-01T00:00:00Z"},
		{"cert", "schedule", "--lifetime", "8h", "--fail", "-2"},
		{"cert", "schedule", "--lifetime", "8h", "--time-scale", "0"},
		{"cert", "schedule", "--lifetime", "8h", "extra"},
		{"cert", "schedule", "--bogus"},
	} {
		if code, _, _ := certCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if code, _, _ := certCLI(t, "cert", "schedule", "-h"); code != ExitOK {
		t.Errorf("-h: exit %d", code)
	}
}
