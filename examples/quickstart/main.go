package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "where the reference app listens (host:port)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintf(os.Stderr, "quickstart: %v\n", err)
		os.Exit(1)
	}
}

// run starts the demo, prints the banner and waits for Ctrl-C (SIGINT) or
// SIGTERM, then stops everything.
func run(addr string) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	// After the first signal, a second one ends the process at once; Hydra
	// then gets SIGTERM from the kernel because its parent died.
	context.AfterFunc(ctx, cancel)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	d, err := start(ctx, options{addr: addr, out: os.Stdout, logger: logger})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Println("interrupted")
			return nil
		}
		return err
	}
	d.banner(os.Stdout)

	var failure error
	select {
	case <-ctx.Done():
	case failure = <-d.failed():
	}
	fmt.Println("\nstopping…")
	if err := d.stop(); err != nil {
		failure = errors.Join(failure, fmt.Errorf("stop: %w", err))
	}
	if failure != nil {
		return failure
	}
	fmt.Println("stopped")
	return nil
}
