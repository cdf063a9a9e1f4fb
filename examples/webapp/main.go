// Command webapp is the oidcrp reference application: a small site whose
// pages need an OpenID Connect login. It is configured by environment
// variables:
//
//	LISTEN_ADDR         where to listen (default 127.0.0.1:8080)
//	OIDC_ISSUER         the provider's issuer URL (required)
//	OIDC_CLIENT_ID      client ID (required unless OIDC_REGISTER=1)
//	OIDC_CLIENT_SECRET  client secret (empty for a public client)
//	OIDC_REGISTER       1: register with the provider at start-up (RFC 7591)
//	                    and keep the registration in shape (RFC 7592)
//	OIDC_REGISTRATION_ENDPOINT  for providers whose discovery lists none
//	OIDC_CREDENTIALS_FILE  where registered credentials persist
//	                    (default ./oidcrp-client.json; in Redis with
//	                    SESSION_STORE=redis)
//	OIDC_REDIRECT_URL   callback URL (default http://<LISTEN_ADDR>/callback)
//	OIDC_SCOPES         scopes (default "openid profile email offline_access")
//	SESSION_STORE       cookie (default), file or redis
//	SESSION_DIR         directory of the file store (default ./sessions)
//	REDIS_URL           with SESSION_STORE=redis, e.g. redis://127.0.0.1:6379/0
//	SESSION_KEYS        comma-separated keys of 32+ characters, newest first
//	                    (default: a random key per start)
//	OIDC_HOLDER_KEY_FILE the key verifiable credentials are bound to
//	                    (default ./oidcrp-holder.pem, created on first use)
//
// Routes: GET / (public), GET /login, GET /callback, GET /me and
// GET /api/whoami and POST /credential (protected), POST /logout, GET /logout/done,
// POST /backchannel-logout, GET /frontchannel-logout, GET /healthz,
// GET /readyz.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/oidcrp/oidcrp/examples/webapp/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := app.Run(ctx, os.Getenv, logger); err != nil {
		logger.Error("webapp: " + err.Error())
		os.Exit(1)
	}
}
