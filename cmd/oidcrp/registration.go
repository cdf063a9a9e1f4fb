package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/registration"
)

// Defaults of register.
var (
	defaultGrantTypes    = []string{"authorization_code", "refresh_token"}
	defaultResponseTypes = []string{"code"}
)

const (
	defaultScope       = "openid profile email offline_access"
	defaultCredentials = "./oidcrp-client.json"
	defaultTimeout     = 30 * time.Second
	redactedValue      = "[redacted]"
)

// commonFlags are the flags of register, get, update and delete.
type commonFlags struct {
	credentials  string
	showSecrets  bool
	timeout      time.Duration
	insecureHTTP bool
}

func (c *commonFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&c.credentials, "credentials", defaultCredentials, "credentials `file` (JSON, mode 0600), shared with registration.Ensure")
	fs.BoolVar(&c.showSecrets, "show-secrets", false, "print the client secret and the registration access token")
	fs.DurationVar(&c.timeout, "timeout", defaultTimeout, "give up after this long")
	fs.BoolVar(&c.insecureHTTP, "insecure-allow-http", false, "allow plain http to hosts that are not loopback (never in production)")
}

// metadataFlags are the client metadata flags of register and update.
type metadataFlags struct {
	redirectURIs, postLogoutURIs, grantTypes, responseTypes  stringList
	backchannelURI, frontchannelURI, name, scope, authMethod string
	sessionRequired                                          bool
}

func (m *metadataFlags) add(fs *flag.FlagSet) {
	fs.Var(&m.redirectURIs, "redirect-uri", "redirect `URI` (repeatable)")
	fs.Var(&m.postLogoutURIs, "post-logout-redirect-uri", "post-logout redirect `URI` (repeatable; Ory Hydra wants the scheme, host and port of a redirect URI)")
	fs.StringVar(&m.backchannelURI, "backchannel-logout-uri", "", "back-channel logout `URI`")
	fs.StringVar(&m.frontchannelURI, "frontchannel-logout-uri", "", "front-channel logout `URI`")
	fs.BoolVar(&m.sessionRequired, "logout-session-required", true, "ask for sid (and iss) in back- and front-channel logout")
	fs.StringVar(&m.name, "name", "", "client `name` shown to users")
	fs.StringVar(&m.scope, "scope", defaultScope, "space-separated `scopes`")
	fs.Var(&m.grantTypes, "grant-type", "grant `type` (repeatable; default authorization_code and refresh_token)")
	fs.Var(&m.responseTypes, "response-type", "response `type` (repeatable; default code)")
	fs.StringVar(&m.authMethod, "token-endpoint-auth-method", "client_secret_basic", "client_secret_basic, client_secret_post or none")
}

// apply writes the flags that were set on the command line into md; an
// empty value clears a member. With all, unset flags apply their defaults
// too (register).
func (m *metadataFlags) apply(fs *flag.FlagSet, md *registration.Metadata, all bool) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	list := func(name string, v stringList, def []string, dst *[]string) {
		switch {
		case set[name]:
			*dst = nil
			for _, s := range v {
				if s != "" {
					*dst = append(*dst, s)
				}
			}
		case all:
			*dst = def
		}
	}
	str := func(name, v string, dst *string) {
		if set[name] || all {
			*dst = v
		}
	}
	list("redirect-uri", m.redirectURIs, nil, &md.RedirectURIs)
	list("post-logout-redirect-uri", m.postLogoutURIs, nil, &md.PostLogoutRedirectURIs)
	list("grant-type", m.grantTypes, defaultGrantTypes, &md.GrantTypes)
	list("response-type", m.responseTypes, defaultResponseTypes, &md.ResponseTypes)
	str("backchannel-logout-uri", m.backchannelURI, &md.BackchannelLogoutURI)
	str("frontchannel-logout-uri", m.frontchannelURI, &md.FrontchannelLogoutURI)
	str("name", m.name, &md.ClientName)
	str("scope", m.scope, &md.Scope)
	str("token-endpoint-auth-method", m.authMethod, &md.TokenEndpointAuthMethod)
	if set["logout-session-required"] || set["backchannel-logout-uri"] || all {
		md.BackchannelLogoutSessionRequired = md.BackchannelLogoutURI != "" && m.sessionRequired
	}
	if set["logout-session-required"] || set["frontchannel-logout-uri"] || all {
		md.FrontchannelLogoutSessionRequired = md.FrontchannelLogoutURI != "" && m.sessionRequired
	}
}

// session is an open credentials file: locked, with a client for its
// registration endpoint.
type session struct {
	store  *registration.FileStore
	unlock func()
}

func openStore(ctx context.Context, path string) (*session, error) {
	store := registration.NewFileStore(path)
	unlock, err := store.Lock(ctx)
	if err != nil {
		return nil, err
	}
	return &session{store: store, unlock: unlock}, nil
}

// loadExisting loads credentials that must exist.
func (s *session) loadExisting(ctx context.Context) (*registration.Credentials, error) {
	creds, err := s.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return nil, fmt.Errorf("no credentials in %s; run oidcrp register first", s.store.Path())
	}
	return creds, nil
}

// openRegistration locks the credentials file and returns it with the
// stored registration and a client that manages it; the caller unlocks.
func openRegistration(ctx context.Context, common *commonFlags) (*session, *registration.Credentials, *registration.Client, error) {
	s, err := openStore(ctx, common.credentials)
	if err != nil {
		return nil, nil, nil, err
	}
	creds, err := s.loadExisting(ctx)
	var client *registration.Client
	if err == nil {
		client, err = clientFor(creds, common)
	}
	if err != nil {
		s.unlock()
		return nil, nil, nil, err
	}
	return s, creds, client, nil
}

func clientFor(creds *registration.Credentials, c *commonFlags) (*registration.Client, error) {
	if creds.RegistrationEndpoint == "" {
		return nil, errors.New("the credentials file names no registration_endpoint")
	}
	return registration.NewClient(registration.Config{Endpoint: creds.RegistrationEndpoint, InsecureAllowHTTP: c.insecureHTTP})
}

// view returns creds as printed: secrets redacted unless asked for.
func view(creds *registration.Credentials, show bool) *registration.Credentials {
	v := creds.Clone()
	if show {
		return v
	}
	redact := func(s *string) {
		if *s != "" {
			*s = redactedValue
		}
	}
	redact(&v.ClientSecret)
	redact(&v.RegistrationAccessToken)
	for i := range v.Retired {
		redact(&v.Retired[i].RegistrationAccessToken)
	}
	return v
}

func runRegister(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("register", "-issuer URL | -registration-endpoint URL, -redirect-uri URL [flags]", stderr)
	var common commonFlags
	var meta metadataFlags
	common.add(fs)
	meta.add(fs)
	issuer := fs.String("issuer", "", "issuer `URL`; its discovery names the registration endpoint")
	endpoint := fs.String("registration-endpoint", "", "registration endpoint `URL` (Ory Hydra: <public URL>/oauth2/register)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected argument %q", fs.Arg(0))
	}
	if *issuer == "" && *endpoint == "" {
		return usageError(fs, stderr, "-issuer or -registration-endpoint is required")
	}
	if len(meta.redirectURIs) == 0 {
		return usageError(fs, stderr, "at least one -redirect-uri is required")
	}
	md := &registration.Metadata{}
	meta.apply(fs, md, true)
	if err := md.CheckURIs(common.insecureHTTP); err != nil {
		return usageError(fs, stderr, "%v", err)
	}

	ctx, cancel := withTimeout(ctx, common.timeout)
	defer cancel()
	if *endpoint == "" {
		p, err := discovery.New(discovery.Config{Issuer: *issuer, InsecureAllowHTTP: common.insecureHTTP})
		if err != nil {
			return fail(stderr, "register", err)
		}
		defer p.Close()
		pmd, err := p.Metadata(ctx)
		if err != nil {
			return fail(stderr, "register", err)
		}
		if pmd.RegistrationEndpoint == "" {
			return fail(stderr, "register", fmt.Errorf("%w: %s does not advertise one; pass -registration-endpoint",
				registration.ErrNoRegistrationEndpoint, *issuer))
		}
		*endpoint = pmd.RegistrationEndpoint
	}
	client, err := registration.NewClient(registration.Config{
		Endpoint:           *endpoint,
		InitialAccessToken: os.Getenv(envInitialAccessToken),
		InsecureAllowHTTP:  common.insecureHTTP,
	})
	if err != nil {
		return fail(stderr, "register", err)
	}
	s, err := openStore(ctx, common.credentials)
	if err != nil {
		return fail(stderr, "register", err)
	}
	defer s.unlock()
	existing, err := s.store.Load(ctx)
	if err != nil {
		return fail(stderr, "register", err)
	}
	if existing != nil {
		return fail(stderr, "register", fmt.Errorf("%s already holds client %q; use update, or delete it first",
			common.credentials, existing.ClientID))
	}
	creds, err := client.Register(ctx, md)
	if err != nil {
		if creds != nil {
			if derr := client.Delete(ctx, creds); derr != nil {
				fmt.Fprintf(stderr, "oidcrp register: could not delete client %q again: %v\n", creds.ClientID, derr)
			}
		}
		return fail(stderr, "register", err)
	}
	creds.Issuer = *issuer
	if err := s.store.Save(ctx, creds); err != nil {
		if derr := client.Delete(ctx, creds); derr != nil {
			fmt.Fprintf(stderr, "oidcrp register: could not delete unsaved client %q: %v\n", creds.ClientID, derr)
		}
		return fail(stderr, "register", err)
	}
	if err := printJSON(stdout, view(creds, common.showSecrets)); err != nil {
		return fail(stderr, "register", err)
	}
	return exitOK
}

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("get", "[flags]", stderr)
	var common commonFlags
	common.add(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := withTimeout(ctx, common.timeout)
	defer cancel()
	s, creds, client, err := openRegistration(ctx, &common)
	if err != nil {
		return fail(stderr, "get", err)
	}
	defer s.unlock()
	cur, err := client.Read(ctx, creds)
	if err != nil {
		if errors.Is(err, registration.ErrTokenRejected) {
			err = fmt.Errorf("%w (the client was deleted, or another process holds a newer registration access token)", err)
		}
		return fail(stderr, "get", err)
	}
	if err := s.store.Save(ctx, cur); err != nil {
		return fail(stderr, "get", err)
	}
	if err := printJSON(stdout, view(cur, common.showSecrets)); err != nil {
		return fail(stderr, "get", err)
	}
	return exitOK
}

func runUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("update", "[flags]  (flags given replace the stored values; an empty value clears one)", stderr)
	var common commonFlags
	var meta metadataFlags
	common.add(fs)
	meta.add(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := withTimeout(ctx, common.timeout)
	defer cancel()
	s, creds, client, err := openRegistration(ctx, &common)
	if err != nil {
		return fail(stderr, "update", err)
	}
	defer s.unlock()
	md := creds.Requested.Clone()
	if md == nil {
		md = creds.Metadata.Clone()
	}
	if md == nil {
		md = &registration.Metadata{}
	}
	meta.apply(fs, md, false)
	if err := md.CheckURIs(common.insecureHTTP); err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	upd, err := client.Update(ctx, creds, md)
	if upd != nil {
		// The provider may have rotated the registration access token:
		// save it before anything else.
		if serr := s.store.Save(ctx, upd); serr != nil {
			return fail(stderr, "update", errors.Join(err, serr))
		}
	}
	if err != nil {
		return fail(stderr, "update", err)
	}
	if err := printJSON(stdout, view(upd, common.showSecrets)); err != nil {
		return fail(stderr, "update", err)
	}
	return exitOK
}

func runDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("delete", "[flags]", stderr)
	var common commonFlags
	common.add(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := withTimeout(ctx, common.timeout)
	defer cancel()
	s, creds, client, err := openRegistration(ctx, &common)
	if err != nil {
		return fail(stderr, "delete", err)
	}
	defer s.unlock()
	if err := client.Delete(ctx, creds); err != nil {
		if errors.Is(err, registration.ErrTokenRejected) {
			err = fmt.Errorf("%w; if the client is already gone, remove %s by hand", err, common.credentials)
		}
		return fail(stderr, "delete", err)
	}
	if err := s.store.Remove(ctx); err != nil {
		return fail(stderr, "delete", err)
	}
	if err := printJSON(stdout, map[string]string{"deleted": creds.ClientID, "credentials_removed": common.credentials}); err != nil {
		return fail(stderr, "delete", err)
	}
	return exitOK
}
