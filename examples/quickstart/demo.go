package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/oidcrp/oidcrp/examples/webapp/app"
	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/loginapp"
)

// readyTimeout bounds the wait for the application's first successful
// provider discovery.
const readyTimeout = 15 * time.Second

// shutdownTimeout bounds the graceful shutdown of each HTTP server.
const shutdownTimeout = 5 * time.Second

// options configures the demo.
type options struct {
	// addr is where the reference application listens, as host:port. Port 0
	// picks a free port; an empty or unspecified host means localhost.
	addr string
	// out receives the progress lines.
	out io.Writer
	// logger receives the logs of the application and the login pages.
	logger *slog.Logger
}

// demo is a running demo: Ory Hydra, its login pages and the reference
// application.
type demo struct {
	// appURL is the application's base URL without a trailing slash, e.g.
	// http://localhost:8080.
	appURL string
	// clientID is the application's client at Hydra.
	clientID string
	// dir holds the registered credentials and the holder key; stop
	// removes it.
	dir string

	hydra    *hydra.Server
	loginLn  net.Listener
	loginSrv *http.Server
	appLn    net.Listener
	app      *app.App
	appSrv   *http.Server

	// errc receives the first unexpected end of a server or of Hydra.
	errc chan error
	// quit is closed by stop to end the Hydra watcher.
	quit chan struct{}
	// wg counts the serving goroutines and the Hydra watcher.
	wg sync.WaitGroup
	// stopOnce makes stop idempotent.
	stopOnce sync.Once
	// stopErr is the result of the first stop.
	stopErr error
}

// start runs the whole demo: it binds the application's address (so that a
// taken port fails at once), starts Hydra with the login pages, registers
// the application as a client and serves it. It returns once the
// application has discovered Hydra. ctx bounds only the start.
func start(ctx context.Context, opt options) (_ *demo, err error) {
	d := &demo{errc: make(chan error, 1), quit: make(chan struct{})}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()

	// 1. The application's address comes first: the redirect URI registered
	// at Hydra names its port.
	d.appLn, err = listen(opt.addr)
	if err != nil {
		return nil, err
	}
	d.appURL = publicURL(opt.addr, d.appLn.Addr())

	// 2. Hydra and its login pages need each other's URL: bind the login
	// pages' port now, start Hydra pointing at it, then serve the pages
	// with Hydra's admin URL. Connections that arrive in between wait in
	// the listen backlog.
	d.loginLn, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the login pages: %w", err)
	}
	loginBase := "http://" + d.loginLn.Addr().String()
	if err := ensureHydra(ctx, opt.out); err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.out, "starting Ory Hydra %s…\n", hydra.Version)
	d.hydra, err = hydra.Start(ctx, hydra.Options{
		LoginURL:      loginBase + "/login",
		ConsentURL:    loginBase + "/consent",
		LogoutURL:     loginBase + "/logout",
		ErrorURL:      loginBase + "/error",
		PostLogoutURL: loginBase + "/logged-out",
	})
	if err != nil {
		return nil, err
	}
	d.watchHydra()
	pages, err := loginapp.New(loginapp.Config{
		AdminURL: d.hydra.AdminURL,
		Auto:     nil, // interactive: real login and consent pages
		Users:    loginapp.DemoUsers(),
		Logger:   opt.logger,
	})
	if err != nil {
		return nil, err
	}
	d.loginSrv = newServer(pages)
	d.serve(d.loginSrv, d.loginLn, "login pages")

	// 3. Run the reference application with the configuration that
	// examples/webapp would read from these environment variables. With
	// OIDC_REGISTER=1 it registers itself with Hydra (OpenID Connect
	// Dynamic Client Registration) before it serves; Hydra keeps its
	// clients in memory, so the credentials file lives as long as the demo.
	fmt.Fprintln(opt.out, "registering the reference app with Hydra (dynamic client registration)…")
	d.dir, err = os.MkdirTemp("", "oidcrp-quickstart-")
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"LISTEN_ADDR":           d.appLn.Addr().String(),
		"OIDC_ISSUER":           d.hydra.Issuer,
		"OIDC_REGISTER":         "1",
		"OIDC_CREDENTIALS_FILE": filepath.Join(d.dir, "client.json"),
		"OIDC_HOLDER_KEY_FILE":  filepath.Join(d.dir, "holder.pem"),
		"OIDC_REDIRECT_URL":     d.appURL + "/callback",
		"SESSION_STORE":         "cookie",
		// SESSION_KEYS is left unset: a random key per start.
	}
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	var h http.Handler
	d.app, h, err = app.New(ctx, cfg, opt.logger)
	if err != nil {
		return nil, err
	}
	d.clientID = d.app.RP().ClientID()
	d.appSrv = newServer(h)
	d.serve(d.appSrv, d.appLn, "reference app")
	if err := d.waitReady(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// stop shuts down the application, the login pages and Hydra, in that
// order, and waits for each. It is safe to call more than once.
func (d *demo) stop() error {
	d.stopOnce.Do(func() {
		close(d.quit)
		var errs []error
		if d.appSrv != nil {
			errs = append(errs, shutdown(d.appSrv))
		}
		if d.app != nil {
			errs = append(errs, d.app.Close())
		}
		if d.loginSrv != nil {
			errs = append(errs, shutdown(d.loginSrv))
		}
		// A listener that never reached Serve is still open.
		for _, ln := range []net.Listener{d.appLn, d.loginLn} {
			if ln != nil {
				ln.Close()
			}
		}
		d.wg.Wait()
		if d.hydra != nil {
			errs = append(errs, d.hydra.Stop())
		}
		if d.dir != "" {
			errs = append(errs, os.RemoveAll(d.dir))
		}
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}

// failed delivers the first unexpected end of a server or of Hydra.
func (d *demo) failed() <-chan error { return d.errc }

// banner prints what a person needs to use the demo.
func (d *demo) banner(w io.Writer) {
	line := "────────────────────────────────────────────────────────────────"
	fmt.Fprintf(w, "\n%s\n  oidcrp quickstart is running\n\n", line)
	fmt.Fprintf(w, "  Open %s/ in your browser and click \"Log in\".\n\n", d.appURL)
	fmt.Fprintln(w, "  Demo users (username / password):")
	for _, u := range loginapp.DemoUsers() {
		name, _ := u.Identity.Claims["name"].(string)
		fmt.Fprintf(w, "    %-6s / %-15s %s\n", u.Username, u.Password, name)
	}
	fmt.Fprintf(w, "\n  OpenID provider (Ory Hydra %s): %s\n", hydra.Version, d.hydra.Issuer)
	fmt.Fprintf(w, "  Client ID: %s\n\n", d.clientID)
	fmt.Fprintf(w, "  Ctrl-C stops everything.\n%s\n\n", line)
}

// ensureHydra makes sure the Hydra binary exists. The first run builds it
// from source, which takes a while: say so when the lookup is slow.
func ensureHydra(ctx context.Context, out io.Writer) error {
	found := make(chan struct{})
	noticed := make(chan struct{})
	go func() {
		defer close(noticed)
		select {
		case <-found:
		case <-time.After(time.Second):
			fmt.Fprintf(out, "building Ory Hydra %s (first run only, ~90 s)…\n", hydra.Version)
		}
	}()
	_, err := hydra.Binary(ctx)
	close(found)
	<-noticed
	return err
}

// listen binds the application's address, with a message that names the
// -addr flag when it cannot.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s is already in use: stop what runs there or pick another address with -addr (e.g. -addr localhost:8081): %w", addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (set with -addr): %w", addr, err)
	}
	return ln, nil
}

// publicURL is the application's base URL: the host asked for in addr
// (localhost when it is empty or unspecified) and the port actually bound.
func publicURL(addr string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	port := 0
	if tcp, ok := bound.(*net.TCPAddr); ok {
		port = tcp.Port
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// newServer returns an HTTP server for h with sane timeouts.
func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
}

// serve runs srv on ln until stop, reporting any other end to failed.
func (d *demo) serve(srv *http.Server, ln net.Listener, name string) {
	d.wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			d.report(fmt.Errorf("%s stopped: %w", name, err))
		}
	})
}

// watchHydra reports Hydra's process ending before stop.
func (d *demo) watchHydra() {
	d.wg.Go(func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-d.quit:
				return
			case <-tick.C:
				if d.hydra.Exited() {
					d.report(fmt.Errorf("the Ory Hydra process exited unexpectedly; the end of its log:\n%s", d.hydra.LogTail(20)))
					return
				}
			}
		}
	})
}

// report passes err to failed unless an earlier error is waiting there.
func (d *demo) report(err error) {
	select {
	case d.errc <- err:
	default:
	}
}

// waitReady waits until the application has fetched Hydra's discovery
// document, so that the first click on "Log in" works.
func (d *demo) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !d.app.RP().Ready() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the reference app could not discover Hydra at %s: %w", d.hydra.Issuer, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// shutdown stops srv gracefully, or forcibly after shutdownTimeout.
func shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return err
	}
	return nil
}
