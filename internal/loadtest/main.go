// Command loadtest serves the reference application against an in-process
// fake provider, logs in once, and prints a session cookie, so that a load
// generator (scripts/loadtest.sh runs wrk) can measure the server's CPU
// time per authenticated request. /bare/whoami answers like /api/whoami
// without any authentication, as the baseline.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oidcrp/oidcrp/examples/webapp/app"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

func main() {
	store := flag.String("store", "cookie", "session store: cookie or file")
	flag.Parse()
	if err := run(*store); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(store string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	op, err := rptest.New(rptest.WithClaims(map[string]any{"email": "alice@example.com", "name": "Alice Example", "preferred_username": "alice"}))
	if err != nil {
		return err
	}
	defer op.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	op.RegisterClient(rptest.Client{ID: "load", Secret: "load-secret", RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/logout/done"}})
	dir, err := os.MkdirTemp("", "oidcrp-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := map[string]string{
		"LISTEN_ADDR": ln.Addr().String(), "OIDC_ISSUER": op.Issuer(), "OIDC_CLIENT_ID": "load", "OIDC_CLIENT_SECRET": "load-secret",
		"SESSION_STORE": store, "SESSION_DIR": dir + "/sessions", "SESSION_KEYS": "load-test-session-key-0123456789abcdef",
	}
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	a, h, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer a.Close()
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /bare/whoami", func(w http.ResponseWriter, r *http.Request) {
		// The same headers as the application's pages.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		// The same work as the application's /api/whoami, minus the
		// session.
		sub, _ := json.Marshal("alice")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(append([]byte(`{"sub":`), sub...), "}\n"...))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/login?return_to=/api/whoami")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("login: %s", resp.Status)
	}
	u, _ := url.Parse(base + "/")
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	fmt.Printf("URL=%s\nCOOKIE=%s\n", base, strings.Join(parts, "; "))
	<-ctx.Done()
	return nil
}
