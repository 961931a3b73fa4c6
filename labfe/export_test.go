package labfe

import "github.com/handset-dev/handset/labfe/internal/sipmsg"

// Test hooks.
var InstanceFromEpid = instanceFromEpid

func SignatureBuffer(m *sipmsg.Message, scheme, rnd, num, targetname string) []byte {
	return fieldsOf(m).buffer(scheme, rnd, num, targetname)
}

// WithDropHook calls fn each time a closed flow's state has been forgotten.
func WithDropHook(fn func()) Option { return func(o *options) { o.onDrop = fn } }
