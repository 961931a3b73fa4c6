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
	// flush); a second one exits at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
		second := make(chan os.Signal, 1)
		signal.Notify(second, os.Interrupt, syscall.SIGTERM)
		<-second
		os.Exit(cli.ExitRunFailed)
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
