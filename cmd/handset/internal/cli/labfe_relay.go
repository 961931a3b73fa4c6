package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/handset-dev/handset/labfe"
	"github.com/handset-dev/handset/labfe/relay"
)

// MRAS and the MS-TURN media relay of `handset labfe` (labfe/relay).
type labfeRelayOptions struct {
	on     bool
	listen string
	srv    *relay.Server
}

func addLabfeRelayFlags(fs *flag.FlagSet, o *labfeRelayOptions) {
	fs.BoolVar(&o.on, "relay", false, "answer MRAS (SERVICE to the in-band mrasUri) with relay credentials and serve an MS-TURN media relay")
	fs.StringVar(&o.listen, "relay-listen", "127.0.0.1:0", "UDP and TCP listen address of the MS-TURN relay (with --relay; port 0: ephemeral, printed)")
}

// start binds the relay, routes MRAS requests to it through cfg.Local and
// serves it until ctx ends; stop closes it and waits.
func (o *labfeRelayOptions) start(ctx context.Context, log *slog.Logger, cfg *labfe.Config) (stop func(), err error) {
	if !o.on {
		return func() {}, nil
	}
	store := relay.NewStore(nil)
	o.srv, err = relay.New(relay.Config{ListenUDP: o.listen, ListenTCP: o.listen}, store, relay.WithLogger(log.With("part", "relay")))
	if err != nil {
		return nil, fmt.Errorf("labfe: --relay: %w", err)
	}
	u, t := o.srv.UDPAddr(), o.srv.TCPAddr()
	m := relay.NewMRAS(store, o.srv, relay.MediaRelay{Location: "intranet", HostName: u.Addr().String(),
		UDPPort: int(u.Port()), TCPPort: int(t.Port())})
	cfg.Local = m.Local(cfg.Local)
	done := make(chan struct{})
	go func() { defer close(done); _ = o.srv.Serve(ctx) }()
	return func() { _ = o.srv.Close(); <-done }, nil
}

func (o *labfeRelayOptions) print(w io.Writer) {
	if o.srv == nil {
		return
	}
	fmt.Fprintf(w, "labfe: MRAS answers the in-band mrasUri; MS-TURN relay on udp %s, tcp %s (realm %s)\n",
		o.srv.UDPAddr(), o.srv.TCPAddr(), relay.DefaultRealm)
}
