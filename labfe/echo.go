package labfe

import "github.com/handset-dev/handset/labfe/internal/sipmsg"

// echoCall is one call of the echo bot.
type echoCall struct{}

func (e *echoCall) stop()   {}
func (e *echoCall) cancel() {}

func (s *Server) isEcho(string) bool { return false }

func (s *Server) echoRequest(f *flow, sa *secAssoc, req *sipmsg.Message) bool {
	return s.reply(f, sa, s.failure(req, 404, "Not Found", diagNoUser))
}

func (s *Server) echoInDialog(f *flow, sa *secAssoc, d *dialog, req *sipmsg.Message) bool {
	return s.reply(f, sa, s.failure(req, 481, "Call/Transaction Does Not Exist", diagNoDialog))
}
