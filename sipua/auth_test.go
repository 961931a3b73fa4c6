package sipua

import "testing"

// MS-SIPAE 4.1 and 4.2 vectors via protocols.md §1.3: the handset derives
// +sip.instance from its epid.
func TestInstanceFromEpidMSSIPAE(t *testing.T) {
	for _, tc := range []struct{ epid, want string }{
		{"8248ca9ebb", "4233FD41-093B-5FD6-B5D2-651ED55969E6"},
		{"2ebb6f264f", "124841E4-264D-52E8-96C5-D22AA8CDC316"},
	} {
		h, err := New(Config{AOR: "a@b", Password: "x", Epid: tc.epid})
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Instance(); got != tc.want {
			t.Errorf("epid %s: instance %s, want %s", tc.epid, got, tc.want)
		}
		_ = h.Close()
	}
}
