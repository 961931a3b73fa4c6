// Command handset emulates Spectralink 84-Series Wi-Fi handsets signing into
// Microsoft Lync Server 2013. See README.md and `handset help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/handset-dev/handset/cmd/handset/internal/cli"
)

func main() {
	// The first SIGINT/SIGTERM cancels ctx (graceful stop: BYE, un-REGISTER,
	// flush, bounded by cli.DefaultStopGrace); a second one exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, done := cli.StopOnSignals(context.Background(), sigs, cli.DefaultStopGrace, os.Stderr, os.Exit)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	done()
	signal.Stop(sigs)
	os.Exit(code)
}
