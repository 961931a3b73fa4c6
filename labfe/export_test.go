package labfe

import "github.com/handset-dev/handset/labfe/internal/sipmsg"

// Test hooks.
var InstanceFromEpid = instanceFromEpid

func SignatureBuffer(m *sipmsg.Message, scheme, rnd, num, targetname string) []byte {
	return fieldsOf(m).buffer(scheme, rnd, num, targetname)
}
