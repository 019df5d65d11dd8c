// Command pgchaos-linkproxy is the TCP delay proxy pgchaos runs inside the
// network-tools image for a delay fault on the replication link (see
// package linkproxy): it accepts connections on --listen, forwards them to
// --upstream, and delays what flows back from upstream by --delay
// (± --jitter). It runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pgchaos/pgchaos/linkproxy"
)

func main() {
	// The standard flag package (which accepts --name too) keeps this
	// binary free of modules, so images/build.sh builds it anywhere Go is.
	fs := flag.NewFlagSet("pgchaos-linkproxy", flag.ContinueOnError)
	listen := fs.String("listen", "0.0.0.0:15432", "address to accept connections on")
	// No default upstream: 127.0.0.1 would be the natural one, and the
	// official postgres image trusts it without a password (see
	// faults.proxyCmd for the address pgchaos passes).
	upstream := fs.String("upstream", "", "address to forward them to (required; not 127.0.0.1 in front of a server that trusts local connections)")
	delay := fs.Duration("delay", 0, "delay added to bytes from upstream to the client")
	jitter := fs.Duration("jitter", 0, "each chunk's delay varies uniformly within delay±jitter (order is kept)")
	seed := fs.Uint64("seed", 0, "seed of the jitter's random generator (0: from the clock)")
	quiet := fs.Bool("quiet", false, "do not log each connection")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: pgchaos-linkproxy --listen ADDR --upstream ADDR --delay D [--jitter J]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "pgchaos-linkproxy: --upstream is required")
		fs.Usage()
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	logger := log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)
	cfg := linkproxy.Config{Upstream: *upstream, Delay: *delay, Jitter: *jitter, Seed: *seed}
	if !*quiet {
		cfg.Logf = logger.Printf
	}
	// Docker stops a container with SIGTERM; either signal ends Serve cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Printf("pgchaos-linkproxy: %s -> %s, delay %s, jitter %s, seed %d", *listen, *upstream, *delay, *jitter, *seed)
	if err := linkproxy.ListenAndServe(ctx, *listen, cfg); err != nil {
		logger.Print(err)
		stop()
		os.Exit(1)
	}
}
