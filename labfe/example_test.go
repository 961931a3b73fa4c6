package labfe_test

import (
	"fmt"
	"strings"

	"github.com/handset-dev/handset/labfe"
)

func ExampleGenerateUsers() {
	for _, u := range labfe.GenerateUsers(2, "contoso.test") {
		fmt.Println(u.Address, u.UserID, u.Domain, u.Password, u.Extension)
	}
	// Output:
	// user0001@contoso.test user0001 CONTOSO [redacted] 1001
	// user0002@contoso.test user0002 CONTOSO [redacted] 1002
}

func ExampleLoadUsersCSV() {
	users, err := labfe.LoadUsersCSV(strings.NewReader(
		"reg.1.address,reg.1.auth.userId,reg.1.auth.domain,reg.1.auth.password,extension,pin,mac\n" +
			"alice@contoso.test,alice,CONTOSO,Passw0rd!,4001,123456,0004f2000001\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s\\%s password=%v pin=%v\n", users[0].AOR(), users[0].Domain, users[0].UserID, users[0].Password, users[0].PIN)
	// Output:
	// alice@contoso.test CONTOSO\alice password=[redacted] pin=[redacted]
}
