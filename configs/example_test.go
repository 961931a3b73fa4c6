package configs_test

import (
	"fmt"
	"os"
	"testing/fstest"

	"github.com/handset-dev/handset/configs"
)

// Boot a handset from the flat template: the per-phone -ext.cfg comes first
// in CONFIG_FILES, so it wins over site.cfg; site.cfg overrides the Lync base
// profile's specialInterop.
func ExampleBoot() {
	eff, warns, err := configs.Boot(os.DirFS("templates/flat"), "0004f2000001")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range []string{"reg.1.address", "reg.1.auth.password", "reg.1.server.1.specialInterop", "sec.srtp.key.lifetime"} {
		v, _ := eff.Lookup(n)
		fmt.Printf("%s = %s from %s\n", n, v.Display(), v.Source)
	}
	fmt.Println("lifetime packets:", eff.Int("sec.srtp.key.lifetime"), "warnings:", len(warns))
	// Output:
	// reg.1.address = alice@contoso.test from 0004f2000001-ext.cfg:14
	// reg.1.auth.password = [redacted] from 0004f2000001-ext.cfg:15
	// reg.1.server.1.specialInterop = lync2013 from site.cfg:22
	// sec.srtp.key.lifetime = 2^31 from base profile Lync
	// lifetime packets: 2147483648 warnings: 0
}

// A bad value names the file, line, parameter, value and permitted values.
func ExampleBoot_error() {
	fsys := fstest.MapFS{
		"000000000000.cfg": {Data: []byte(`<APPLICATION CONFIG_FILES="site.cfg"/>`)},
		"site.cfg": {Data: []byte(`<LyncTelephony>
  <LyncServer reg.1.server.1.transport="UDP"/>
</LyncTelephony>`)},
	}
	_, _, err := configs.Boot(fsys, "0004f2000001")
	fmt.Println(err)
	// Output:
	// site.cfg:2: reg.1.server.1.transport="UDP": permitted: DNSnaptr|TCPpreferred|UDPOnly|TLS|TCPOnly
}

// One users.csv row and a --set layered over the files.
func ExampleWithOverrides() {
	row := map[string]string{"reg.1.address": "carol@contoso.test", "reg.1.auth.userId": "carol", "mac": "0004f2000003"}
	eff, _, err := configs.Boot(os.DirFS("templates/flat"), "0004f2000003",
		configs.WithOverrides(row, "users.csv:4"), configs.WithSet("reg.1.server.1.expires", "600"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range []string{"reg.1.address", "reg.1.server.1.expires"} {
		v, _ := eff.Lookup(n)
		fmt.Println(v)
	}
	// Output:
	// reg.1.address="carol@contoso.test" (users.csv:4)
	// reg.1.server.1.expires="600" (--set)
}

func ExampleWriteCfg() {
	fmt.Printf("%s", configs.WriteCfg(map[string]string{"dialplan.1.digitmap": "[2-9]11|0T", "reg.1.lisdisclaimer": "Tom & Jerry"}))
	// Output:
	// <?xml version="1.0" encoding="utf-8" standalone="yes"?>
	// <!-- written by handset -->
	// <polycomConfig>
	//   <params
	//     dialplan.1.digitmap="[2-9]11|0T"
	//     reg.1.lisdisclaimer="Tom &amp; Jerry" />
	// </polycomConfig>
}
